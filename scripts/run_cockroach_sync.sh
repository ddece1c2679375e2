#!/usr/bin/env bash
# Kept under the old cron script's name: an up sync (local PostgreSQL -> CockroachDB).
# Extra flags pass through, e.g. --table=agents or --dry-run. Prefer `cesar headless` for scheduling.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec node "$here/../dist/cli.js" sync --direction up "$@"
