#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Run the integration suite against a server binary.
#
#   SERVER=/path/to/cachalot SERVER_KIND=cachalot tests/integration/run.sh [pytest args...]
#   SERVER=redis-server SERVER_KIND=redis tests/integration/run.sh -k protocol
#
# Needs (Debian): python3-pytest python3-redis redis-tools; optional nodejs npm for the
# ioredis test (its npm dependencies are installed here on first run when npm works;
# without them test_node.py skips). See tests/integration/README.md.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py=/usr/bin/python3

export SERVER="${SERVER:-redis-server}"
export PYTHONDONTWRITEBYTECODE=1

if ! "$py" -c 'import pytest, redis' 2>/dev/null; then
	echo "run.sh: need pytest and redis-py for $py: apt-get install -y python3-pytest python3-redis" >&2
	exit 2
fi

if [ ! -d "$here/node/node_modules/ioredis" ]; then
	if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
		echo "run.sh: installing the Node client (ioredis) into $here/node" >&2
		(cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
			echo "run.sh: npm install failed; the Node test will be skipped" >&2
	else
		echo "run.sh: node/npm not found; the Node test will be skipped" >&2
	fi
fi

cd "$here" || exit 2
exec "$py" -m pytest -q -rfEs "$@" .
