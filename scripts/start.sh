#!/usr/bin/env bash
# The main job on one machine: install, then serve the API + review UI + camera workers on SQLite
# with the example configuration (camera on ../shared/media/vtest.avi).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -e .
export STREETWARDEN_MODELS="${STREETWARDEN_MODELS:-$(cd .. && pwd)/shared/models}"
CONFIG="${1:-examples/streetwarden.yaml}"
exec streetwarden serve --config "$CONFIG"
