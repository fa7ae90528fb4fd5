#!/bin/sh
# Builds pipe and runs the training-throughput benchmark (TF.js vs PyTorch).
# Needs root for the one-time `apt-get install python3-torch` when torch is missing.
set -e
cd "$(dirname "$0")/.."
npx tsc -p . >/dev/null || true
exec node dist/bench/train-throughput.js "$@"
