#!/usr/bin/env bash
# The test command of the README: runs the whole suite against ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
export STREETWARDEN_SHARED="${STREETWARDEN_SHARED:-$(cd .. && pwd)/shared}"
export STREETWARDEN_MODELS="${STREETWARDEN_MODELS:-$STREETWARDEN_SHARED/models}"
exec python3 -m pytest -q "$@"
