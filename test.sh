#!/usr/bin/env bash
# Quick start, command 2: install the test extras, then run the test suite (what CI runs).
# Safe to re-run. Arguments are passed to pytest (e.g. ./test.sh -k attention -x).
set -euo pipefail
cd "$(dirname "$0")"
scripts/install.sh --test
exec .venv/bin/python -m pytest "$@"
