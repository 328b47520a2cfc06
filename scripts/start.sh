#!/usr/bin/env bash
# Starts modgate in the foreground on the default configuration (conf/modgate.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh cmake:cmake
cargo build --release --locked
exec target/release/modgate run -c conf/modgate.yaml "$@"
