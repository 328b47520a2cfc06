#!/usr/bin/env bash
# Starts modgate in the foreground on the default configuration (conf/modgate.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh cmake:cmake
cargo build --release --locked
# The default config listens with TLS on loopback; its certificate is made here,
# never committed.
[ -f certs/server.crt ] || target/release/modgate cert dev --dir certs
exec target/release/modgate run -c conf/modgate.yaml "$@"
