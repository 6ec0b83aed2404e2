#!/usr/bin/env bash
# Build the web UI into frontend/dist (served by `freemarket serve` at /), only when needed:
# dependencies are (re)installed when package-lock.json changed, the bundle is rebuilt when any
# source is newer than dist/index.html. Set FORCE=1 to rebuild anyway.
set -euo pipefail

cd "$(dirname "$0")/../frontend"

if ! command -v npm >/dev/null 2>&1; then
  echo "build-frontend: npm not found; install Node.js 20+ to build the web UI" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "build-frontend: Node.js 20.19+ is needed to build the web UI (found $(node -v 2>/dev/null || echo none))" >&2
  exit 1
fi

# 0. The input limits the forms check, from the API's request bodies (rewritten only on change,
#    so an unchanged file does not force a rebuild).
if [ -x ../.venv/bin/python ]; then
  (cd .. && .venv/bin/python -m freemarket.api.limits)
else
  echo "build-frontend: no .venv; keeping frontend/src/limits.json as committed (make install)" >&2
fi

# 1. Dependencies, exactly as locked (npm ci), when node_modules is missing or older than the lock.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "build-frontend: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# 2. The bundle, when missing or older than any source.
built=dist/index.html
if [ "${FORCE:-0}" != "1" ] && [ -f "$built" ]; then
  newer=$(find src public index.html vite.config.js package-lock.json -newer "$built" -print -quit 2>/dev/null || true)
  if [ -z "$newer" ]; then
    echo "build-frontend: frontend/dist is up to date"
    exit 0
  fi
fi
echo "build-frontend: building frontend/dist"
npm run build --silent
