#!/usr/bin/env bash
# Installs the npm dependencies from the lockfile when they are missing or older than it, so
# `npm start` and `npm test` work on a fresh clone. Quiet and instant when they are up to date.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

installed=node_modules/.package-lock.json
if [ -f "$installed" ] && [ "$installed" -nt package-lock.json ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || {
  echo "ensure-deps: npm is missing; install Node.js 20.19 or newer (it brings npm)" >&2
  exit 1
}
echo "ensure-deps: installing npm dependencies from package-lock.json" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
