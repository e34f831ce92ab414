#!/usr/bin/env bash
# Regenerates docs/screenshots/*.png from the browser tests (SQLite runs),
# at 1280 and 390 pixels wide. Needs chromium and chromium-driver.
set -euo pipefail
cd "$(dirname "$0")/.."
export TESSERA_SCREENSHOTS="$PWD/docs/screenshots"
mkdir -p "$TESSERA_SCREENSHOTS"
cargo test --workspace --test it -- --test-threads 1 --skip postgres \
    browser:: console_keys:: console_admin:: console_operator:: client_applications:: \
    console_tour:: console_audit:: console_key_list:: console_consistency:: 2>&1 \
    | grep -E '^test .*sqlite|test result' || true
ls -1 "$TESSERA_SCREENSHOTS"
