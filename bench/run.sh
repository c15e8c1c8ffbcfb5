#!/usr/bin/env bash
# Entry point of `make bench`: runs bench/run.py (the whole matrix) with
# the project's venv python: the matrix over h2c, then over TLS (with
# build/test-certs).  Options pass through (--quick for a smoke run,
# --no-tls for h2c only; see `bench/run.sh --help`).  run.py starts the servers itself and
# stops each one by its pid on exit, on errors and on SIGINT/SIGTERM/SIGHUP.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON_VENV:-.venv/bin/python}"
if [ ! -x "$PY" ]; then
  echo "bench: $PY not found (run \`make venv\`)" >&2
  exit 2
fi
exec "$PY" bench/run.py "$@"
