#!/usr/bin/env bash
# Installs what the build and the tests need when it is missing: Debian
# packages (as root; otherwise prints the apt-get line to run) and the
# project's Python virtual environment (pinned in tests/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential pkg-config libnghttp2-dev libssl-dev zlib1g-dev check
      nghttp2-client python3-venv lua5.4 liblua5.4-dev lua-busted lua-cqueues
      libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev
      libprotoc-dev clang libclang-rt-14-dev nginx)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing Debian packages; run as root:"
    echo "  apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || [ tests/requirements.txt -nt .venv/.installed ]; then
  echo "setting up .venv from tests/requirements.txt"
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --disable-pip-version-check -r tests/requirements.txt
  touch .venv/.installed
fi
