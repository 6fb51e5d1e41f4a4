#!/usr/bin/env bash
# System packages and Python packages the test suite needs (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
PKGS="libgl1 ffmpeg chromium chromium-driver python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav postgresql opencv-doc"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq $missing >/dev/null
fi
# Browser tests (tests/test_review_ui_e2e.py) drive Debian's chromium (PKGS above) through Playwright's
# Python API from the [test] extra, with executable_path=/usr/bin/chromium: never `playwright install`.
# The fuzz test (tests/test_fuzz_api.py) needs schemathesis, also from the [test] extra.
python3 -m pip install -q -e ".[test]"
# The [train] extra for the dataset / conversion / training tests: the CPU build of torch, which pip
# takes from the local wheel folder (find-links). Without it those tests fail at import, never skip.
python3 -m pip install -q "torch==2.13.0"
# The [eval] extra for `streetwarden evaluate` and its tests (tests/test_evaluate.py): pycocotools
# (the COCO mAP reference) and matplotlib (PR curves). Without them those tests fail, never skip.
python3 -m pip install -q "pycocotools>=2.0.7" "matplotlib>=3.8"
