#!/usr/bin/env bash
# Runs the official `openai` Python client against a running Sluice gateway, unchanged.
#   SLUICE_URL=http://127.0.0.1:8080 SLUICE_KEY=sluice_... crates/sluice-server/tests/openai_client.sh
# Makes (once) a venv under $SLUICE_VENV (default ~/.cache/sluice/venv-openai) with `openai`.
set -euo pipefail
: "${SLUICE_URL:?set SLUICE_URL to the gateway, e.g. http://127.0.0.1:8080}"
: "${SLUICE_KEY:?set SLUICE_KEY to a reader API key}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${SLUICE_VENV:-$HOME/.cache/sluice/venv-openai}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'openai>=1.40'
fi
exec "$venv/bin/python" "$here/py/openai_client.py"
