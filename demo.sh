#!/usr/bin/env bash
# Set up and run the whole job on the embedded default: a private PostgreSQL cluster under .orcp/,
# the bundled sample data, the local open-data folder .orcp/opendata/.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/orcp run "$@"
