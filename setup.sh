#!/usr/bin/env bash
# Quick start, command 1: install everything, then run the main job (every lab's quick preset).
# Safe to re-run. Arguments are passed to `modelbook run --all` (e.g. ./setup.sh --preset full).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh
echo
.venv/bin/modelbook list
echo
exec .venv/bin/modelbook run --all "$@"
