#!/usr/bin/env bash
# npm dependencies: `npm ci` when node_modules is missing or older than package-lock.json.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
stamp="$root/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$root/package-lock.json" -nt "$stamp" ]; then
  echo "daxlab: installing npm dependencies (npm ci)"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi
