#!/usr/bin/env bash
# Everything CI runs: installs what is missing, then format, lints and all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh cmake:cmake go:golang-go systemd-analyze:systemd
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --all-targets --locked
