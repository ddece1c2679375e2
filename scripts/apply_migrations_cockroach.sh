#!/usr/bin/env bash
# Applies the migrations to CockroachDB (the cloud role). Kept under the old runner's name so that
# existing deploy scripts and habits keep working; the work is done by `cesar migrate`, and every
# argument is passed through (e.g. --dry-run, --status, --json, --wait 5m, --repair NAME).
set -euo pipefail

# Resolve symlinks (e.g. a link in /usr/local/bin) to find the repository this script belongs to.
source=${BASH_SOURCE[0]}
while [ -L "$source" ]; do
  dir=$(cd -P "$(dirname "$source")" && pwd)
  source=$(readlink "$source")
  [[ $source == /* ]] || source=$dir/$source
done
here=$(cd -P "$(dirname "$source")" && pwd)
cli="$here/../dist/cli.js"

if [ ! -f "$cli" ]; then
  echo "apply_migrations_cockroach.sh: $cli is missing: run \`npm install\` (or \`npm run build\`) in $(cd "$here/.." && pwd) first." >&2
  exit 2
fi
exec "${NODE:-node}" "$cli" migrate --target cloud "$@"
