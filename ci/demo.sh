#!/usr/bin/env bash
# Set everything up (ci/setup.sh) and run the demo: generate a 300-slice CT series, read it with
# dicomfast and with pydicom, print what was found and the speed of both. Arguments go to the
# demo (see `python benchmarks/demo.py --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
exec .venv/bin/python benchmarks/demo.py "$@"
