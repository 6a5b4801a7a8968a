#!/bin/sh
# setup.sh: from a fresh Debian machine to a command run in an ermine micro-VM: packages, npm, breed, boot.
set -eu
cd "$(dirname "$0")/.."
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
	echo "setup.sh: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
	echo "setup.sh: hint: install Node.js 20 (e.g. from nodesource) and run this again" >&2
	exit 1
fi
sh scripts/install-deps.sh
npm ci
npm run build
node dist/src/cli/tsermine.js breed --arch x86_64 --config smallconfig
node dist/bundle/tsminc.cjs --qemu -- uname -a
