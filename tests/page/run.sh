#!/usr/bin/env bash
# Page tests: write the fixture archives, then drive the page in headless Chromium.
# Expects www/ to be built (./build.sh build) and target/release/strata to exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test --release --quiet --test page >/dev/null
cd tests/page
exec node --test --test-concurrency=1 page.test.js i18n.test.js lesson.test.js lists.test.js first-paint.test.js structure.test.js polish_state.test.js packages.test.js polish_files.test.js downloads.test.js dist.test.js remote.test.js remote_reads.test.js registry.test.js registry_unit.test.js registry_parts.test.js registry_token.test.js launch.test.js sparse_outer.test.js
