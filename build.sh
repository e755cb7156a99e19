#!/usr/bin/env bash
# strata build driver. Every step installs what it needs, so a fresh machine works.
#   ./build.sh serve   build the wasm + sample and serve www/ on http://127.0.0.1:8080/
#   ./build.sh test    install everything and run every test (native, wasm in Chromium, page)
#   ./build.sh bench   build the large benchmark archive and measure
#   ./build.sh setup   only install the toolchain pieces
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
  apt_install chromium chromium-driver
  if [ ! -d "$ROOT/tests/page/node_modules/playwright-core" ]; then
    log "npm install (tests/page)"
    (cd "$ROOT/tests/page" && npm install --no-audit --no-fund --silent)
  fi
}

setup_image_tools() {
  apt_install skopeo umoci buildah zstd xz-utils gzip openssl
}

setup() { setup_rust; setup_image_tools; setup_browser; }

case "${1:-}" in
  setup) setup ;;
  *) echo "usage: $0 serve|test|bench|setup" >&2; exit 64 ;;
esac
