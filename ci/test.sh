#!/usr/bin/env bash
# Set everything up (ci/setup.sh) and run the test suite; arguments go to pytest.
#   bash ci/test.sh                     all tests, release build
#   DICOMFAST_DEBUG=1 bash ci/test.sh   all tests against the debug build
#   bash ci/test.sh -k corpus -x        a selection
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
exec .venv/bin/python -m pytest "$@"
