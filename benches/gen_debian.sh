#!/usr/bin/env bash
# A real Debian image for the packages benchmark: `bash benches/gen_debian.sh [OUT]` writes
# OUT/debian-real.tar (docker-archive, tag debian-real:bookworm; reused when present):
# layer 0 is `debootstrap --variant=minbase bookworm` (88 packages, dpkg's own status),
# layer 1 an `apt-get install` of a few more into it (about 130 in all), each layer made by
# `umoci repack` and the archive written by `skopeo copy`. Needs root (debootstrap, chroot)
# and Debian's mirror; without them it says so and exits 0 with no archive.
set -euo pipefail
OUT=${1:-$(dirname "$0")/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TAR=$OUT/debian-real.tar
[ -s "$TAR" ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v debootstrap >/dev/null || ! command -v umoci >/dev/null || ! command -v skopeo >/dev/null; then
  echo "gen_debian: needs root, debootstrap, umoci and skopeo: no debian-real.tar" >&2
  exit 0
fi
WORK=$OUT/debian-work
rm -rf "$WORK"
mkdir -p "$WORK"
if ! debootstrap --variant=minbase bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1; then
  echo "gen_debian: debootstrap failed (no mirror?): no debian-real.tar; see $WORK/debootstrap.log" >&2
  exit 0
fi
umoci init --layout "$WORK/oci"
umoci new --image "$WORK/oci:debian"
umoci unpack --image "$WORK/oci:debian" "$WORK/bundle" >/dev/null
rm -rf "$WORK/bundle/rootfs"
mv "$WORK/rootfs" "$WORK/bundle/rootfs"
rm -rf "$WORK/bundle/rootfs/var/cache/apt/archives/"*.deb
umoci repack --image "$WORK/oci:debian" --history.created_by "debootstrap --variant=minbase bookworm /" "$WORK/bundle"
# A bundle repacks onto the image it was unpacked from: unpack again for the second layer.
rm -rf "$WORK/bundle"
umoci unpack --image "$WORK/oci:debian" "$WORK/bundle" >/dev/null
ROOT=$WORK/bundle/rootfs
mount -t proc proc "$ROOT/proc"
trap 'umount "$ROOT/proc" 2>/dev/null || true' EXIT
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
chroot "$ROOT" apt-get update -qq
DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y -qq --no-install-recommends ca-certificates curl python3 procps less >"$WORK/apt.log" 2>&1
chroot "$ROOT" apt-get clean
rm -rf "$ROOT/var/lib/apt/lists/"*
umount "$ROOT/proc"
umoci repack --image "$WORK/oci:debian" --history.created_by "/bin/sh -c apt-get install -y ca-certificates curl python3 procps less" "$WORK/bundle"
skopeo copy -q "oci:$WORK/oci:debian" "docker-archive:$TAR:debian-real:bookworm"
rm -rf "$WORK"
echo "gen_debian: $TAR ($(du -h "$TAR" | cut -f1))" >&2
