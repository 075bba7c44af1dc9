#!/usr/bin/env bash
# Installs the pinned jose (npm ci, once) and runs the node resource
# server: ISSUER=http://127.0.0.1:PORT [AUDIENCE=…] [PORT=…] ./start.sh
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund >&2
fi
export NODE_ENV=production
exec node server.js
