#!/usr/bin/env bash
# Set up and run the test suite. Tests use the PostgreSQL on 127.0.0.1:5432 when it answers
# (or ORCP_TEST_ADMIN_URL), else start a private cluster; every test database is dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
.venv/bin/ruff check --quiet .  # lint first: a finding fails the run
exec .venv/bin/pytest "$@"
