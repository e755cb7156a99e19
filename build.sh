#!/usr/bin/env bash
# strata build driver. Every step installs what it needs, so a fresh machine works.
#   ./build.sh serve   build the wasm + sample and serve www/ on http://127.0.0.1:8080/
#   ./build.sh test    install everything and run every test (native, wasm in Chromium, page)
#   ./build.sh bench   build the large benchmark archive and measure
#   ./build.sh setup   only install the toolchain pieces
#   ./build.sh fuzz [SECONDS]  coverage-guided fuzzing, SECONDS per target (not part of test)
#   ./build.sh dist    build, then write dist/: the site for any static host (README: Host it for your team)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

WASM_BINDGEN_VERSION=0.2.129          # must equal the wasm-bindgen crate pinned in Cargo.toml
TOOLS=${STRATA_TOOLS:-$HOME/.cache/strata-tools}
export PATH="$TOOLS/bin:$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_rust() {
  rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown \
    || { log "rustup target add wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown; }
  if ! "$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
    log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (once, into $TOOLS)"
    cargo install --locked --root "$TOOLS" wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

setup_browser() {
  # fonts-noto-cjk: without a CJK font the page's Chinese draws as boxes in headless Chromium.
  # nginx-light: tests/page/dist.test.js serves dist/ with docs/nginx.conf.
  # docker-registry + skopeo: tests/page/registry.test.js runs real registries on loopback
  # (tests/page/registry_server.mjs starts `docker-registry serve`; the service stays off).
  apt_install chromium chromium-driver fonts-noto-cjk nginx-light docker-registry skopeo
  if [ ! -d "$ROOT/tests/page/node_modules/playwright-core" ] || [ ! -d "$ROOT/tests/page/node_modules/axe-core" ]; then
    log "npm install (tests/page)"
    (cd "$ROOT/tests/page" && npm install --no-audit --no-fund --silent)
  fi
}

setup_image_tools() {
  # dpkg-deb / dpkg-query (tests/packages.rs) come with dpkg itself; rpm brings rpmbuild;
  # db5.3-util's db5.3_load writes the Berkeley DB rpm databases (tests/packages_rpm.rs).
  apt_install skopeo umoci buildah zstd xz-utils gzip openssl rpm db5.3-util sqlite3
  # The SBOM validators tests/packages.rs runs (pyspdxtools, the CycloneDX schema).
  if ! python3 -c 'import spdx_tools.spdx.clitools.pyspdxtools, cyclonedx.validation.json' 2>/dev/null; then
    log "pip install spdx-tools cyclonedx-python-lib[json-validation]"
    python3 -m pip install --quiet --disable-pip-version-check spdx-tools 'cyclonedx-python-lib[json-validation]' \
      || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages spdx-tools 'cyclonedx-python-lib[json-validation]'
  fi
}

setup() { setup_rust; setup_image_tools; setup_browser; }

# --- builds -------------------------------------------------------------------------

build_cli() {
  log "cargo build --release (native strata CLI)"
  cargo build --release --quiet --bin strata
}

build_wasm() {
  setup_rust
  log "cargo build --release --target wasm32-unknown-unknown"
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" \
    cargo build --release --quiet --lib --target wasm32-unknown-unknown
  log "wasm-bindgen --target web → www/pkg"
  wasm-bindgen --target web --no-typescript --out-dir www/pkg \
    target/wasm32-unknown-unknown/release/strata.wasm
}

build_sample() {
  build_cli
  log "writing the built-in sample image → www/sample.tar"
  ./target/release/strata fixture sample -o www/sample.tar
  log "writing the lesson archives → www/lessons/"
  mkdir -p www/lessons
  ./target/release/strata fixture lesson-web -o www/lessons/web.tar.gz
  ./target/release/strata fixture lesson-unionfs -o www/lessons/unionfs.tar
}

build_site() { build_wasm; build_sample; }

serve() {
  build_site
  local port=${PORT:-8080}
  log "serving www/ — open http://127.0.0.1:$port/"
  echo "http://127.0.0.1:$port/"
  exec python3 -m http.server "$port" --bind 127.0.0.1 --directory www
}

# --- tests --------------------------------------------------------------------------

test_native() {
  log "cargo test (native: unit, formats, robustness, real tools, merge rules)"
  STRATA_REQUIRE_TOOLS=1 cargo test --release
}

test_wasm_build() {
  log "cargo build --target wasm32-unknown-unknown (the core must compile for the browser)"
  cargo build --release --quiet --lib --target wasm32-unknown-unknown
}

test_wasm_browser() {
  [ -f tests/wasm_browser.rs ] || return 0
  log "wasm-bindgen-test in headless Chromium (dedicated worker)"
  # Same RUSTFLAGS as build_wasm, so the wasm dependencies are built once for both.
  RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+simd128" \
  CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  WASM_BINDGEN_TEST_TIMEOUT=120 \
    cargo test --release --no-default-features --target wasm32-unknown-unknown --test wasm_browser --test wasm_parts
}

test_page() {
  [ -f tests/page/run.sh ] || return 0
  build_site
  log "page tests (Playwright + Chromium)"
  STRATA_REQUIRE_TOOLS=1 bash tests/page/run.sh
}

run_tests() {
  setup
  test_native
  test_wasm_build
  test_wasm_browser
  test_page
  log "all tests passed"
}

bench() {
  setup_image_tools
  build_cli
  bash benches/run.sh "$@"
}

# --- fuzzing (not part of `test`) ---------------------------------------------------

# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the targets in tests/fuzz/ for SECONDS
# each (default 60), one process, one job. The toolchain is stable Rust: RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its nightly flags (-Zsanitizer=address, sancov). A crash or a
# divergence is saved in tests/fuzz/artifacts/<target>/; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz <target> <file>
# and make it a test in tests/fuzz_regressions.rs. `./build.sh fuzz 300 layer_walks pax`
# runs only those targets.
FUZZ_TARGETS="archive layer_walks pax decompress codec merge packages"
fuzz() {
  local seconds=${1:-60}
  shift $(( $# > 0 ? 1 : 0 ))
  local targets=${*:-$FUZZ_TARGETS}
  if ! "$TOOLS/bin/cargo-fuzz" --version >/dev/null 2>&1; then
    log "cargo install cargo-fuzz (once, into $TOOLS)"
    cargo install --locked --root "$TOOLS" cargo-fuzz
  fi
  log "writing the seed corpus → tests/fuzz/corpus/"
  cargo test --release --quiet --test fuzz_seeds -- --ignored
  local failed=()
  for t in $targets; do
    log "cargo fuzz run $t (${seconds} s)"
    RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz "$t" -- \
      -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 \
      || failed+=("$t")
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${failed[*]} found a crash or a divergence (tests/fuzz/artifacts/)" >&2
    exit 1
  fi
  log "fuzz: nothing found"
}

case "${1:-}" in
  setup) setup ;;
  serve) setup_rust; serve ;;
  test) run_tests ;;
  bench) shift; bench "$@" ;;
  fuzz) shift; fuzz "$@" ;;
  build) build_site ;;
  dist) build_site; log "writing dist/ (tools/dist.py)"; python3 tools/dist.py --out dist ;;
  *) echo "usage: $0 serve|test|bench|build|dist|setup|fuzz [SECONDS [TARGET...]]" >&2; exit 64 ;;
esac
