#!/usr/bin/env bash
# Write image archives with real tools, offline, into OUTDIR, plus what the tools themselves
# say about them (the references tests/real_tools.rs checks strata against).
#
#   tests/tools/make-real-archives.sh OUTDIR
#
# Needs umoci and skopeo; buildah, gzip, zstd and xz are used when present. No daemon, no
# network: images are built from scratch with umoci (layer by layer; deletions become
# whiteouts) and buildah (vfs storage under OUTDIR), then written with `skopeo copy` /
# `buildah push`.
#
# OUTDIR afterwards holds, per archive NAME (NAME.tar, possibly .tar.gz/.tar.zst/.tar.xz):
#   NAME.manifest.json  `skopeo inspect --raw` of the archive (the manifest it holds)
#   NAME.config.json    `skopeo inspect --config --raw` (the config bytes; sha256 = image ID)
#   NAME.tags           the tags we asked the tool to write, one per line
#   NAME.kind           docker-archive | oci-archive
# and:
#   layout/             the umoci OCI layout (index.json + blobs), an independent reference
#   layout-unpacked/    `umoci unpack` of the final image: the merged filesystem
#   skopeo-oci-zstd-chunked.tar  the image as zstd:chunked layers, with .manifest (skopeo's)
#   multi-platform.tar  `skopeo copy --all` of a two-platform index (linux/amd64, linux/arm64/v8),
#                       with multi-platform.index.json (skopeo's raw index) and
#                       multi-platform.platforms (`PLATFORM CONFIG-DIGEST` per platform)
#   status              one line per optional step: `ok NAME` or `skipped NAME: why`
set -euo pipefail

OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-real.XXXXXX")
trap 'chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
: > "$OUT/status"

for t in umoci skopeo; do
    command -v "$t" >/dev/null || { echo "make-real-archives: $t is not installed" >&2; exit 3; }
done

# skopeo needs a signature policy; do not depend on /etc/containers/policy.json.
POLICY="$WORK/policy.json"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$POLICY"
SKOPEO=(skopeo --policy "$POLICY")

ROOTLESS=()
[ "$(id -u)" = 0 ] || ROOTLESS=(--rootless)

LAYOUT="$WORK/layout"
IMG="$LAYOUT:demo"
umoci init --layout "$LAYOUT"
umoci new --image "$IMG"

# One layer: unpack the current image into a fresh bundle, let "$@" change its rootfs,
# repack with a history entry.
layer() {
    local created_by=$1; shift
    local bundle
    bundle="$WORK/bundle.$RANDOM$RANDOM"
    umoci unpack "${ROOTLESS[@]}" --image "$IMG" "$bundle" >/dev/null
    ( cd "$bundle/rootfs" && "$@" )
    umoci repack --image "$IMG" --history.created_by "$created_by" "$bundle"
    chmod -R u+w "$bundle" 2>/dev/null || true
    rm -rf "$bundle"
}

base() {
    mkdir -p etc usr/bin var/cache opt/thing data/sub
    printf 'NAME="Real Tools Linux"\nID=realtools\nVERSION_ID=1\n' > etc/os-release
    echo realtools > etc/hostname
    printf '#!/bin/sh\necho tool\n' > usr/bin/tool && chmod 755 usr/bin/tool
    ln usr/bin/tool usr/bin/tool-hardlink
    ln -s usr/bin bin
    echo a > var/cache/a
    echo b > var/cache/b
    echo thing > opt/thing/inside
    echo d1 > data/one
    echo d2 > data/sub/two
}
modify() {
    printf 'NAME="Real Tools Linux"\nID=realtools\nVERSION_ID=2\n' > etc/os-release
    rm etc/hostname
    rm -rf opt/thing && echo "now a file" > opt/thing
    mkdir -p app && echo main > app/main.txt
}
opaque() {
    # Delete whole directories and re-add them with other contents.
    rm -rf var/cache data
    mkdir -p var/cache data
    echo c > var/cache/c
    echo fresh > data/fresh
}
readd() {
    echo realtools-again > etc/hostname
    rm app/main.txt
    ln -s ../usr/bin/tool app/tool-link
}

layer "/bin/sh -c #(nop) ADD base.tar /" base
layer "/bin/sh -c sed -i s/1/2/ /etc/os-release && rm /etc/hostname && replace /opt/thing" modify
layer "/bin/sh -c rm -rf /var/cache /data && recreate" opaque
layer "/bin/sh -c echo realtools-again > /etc/hostname" readd
umoci config --image "$IMG" \
    --config.env APP=realtools --config.cmd /usr/bin/tool --config.workingdir /app \
    --config.exposedports 8080/tcp --config.label org.opencontainers.image.title=realtools \
    --history.created_by '/bin/sh -c #(nop)  CMD ["/usr/bin/tool"]'

# References: the layout itself and its merged filesystem.
rm -rf "$OUT/layout" "$OUT/layout-unpacked"
cp -r "$LAYOUT" "$OUT/layout"
umoci unpack "${ROOTLESS[@]}" --image "$IMG" "$WORK/final" >/dev/null
cp -a "$WORK/final/rootfs" "$OUT/layout-unpacked"

describe() { # NAME KIND TRANSPORT-REF TAG...
    local name=$1 kind=$2 ref=$3; shift 3
    "${SKOPEO[@]}" inspect --raw "$ref" > "$OUT/$name.manifest.json"
    "${SKOPEO[@]}" inspect --config --raw "$ref" > "$OUT/$name.config.json"
    printf '%s\n' "$@" > "$OUT/$name.tags"
    echo "$kind" > "$OUT/$name.kind"
}

# skopeo: docker-archive (uncompressed layers, <sha>.tar + symlinked <id>/layer.tar) ...
rm -f "$OUT"/skopeo-docker.tar*
"${SKOPEO[@]}" copy -q "oci:$LAYOUT:demo" "docker-archive:$OUT/skopeo-docker.tar:strata/umoci-demo:1.0"
describe skopeo-docker docker-archive "docker-archive:$OUT/skopeo-docker.tar" strata/umoci-demo:1.0
# ... oci-archive with umoci's gzip layers as they are ...
rm -f "$OUT/skopeo-oci.tar"
"${SKOPEO[@]}" copy -q "oci:$LAYOUT:demo" "oci-archive:$OUT/skopeo-oci.tar:strata/umoci-demo:1.0"
describe skopeo-oci oci-archive "oci-archive:$OUT/skopeo-oci.tar" strata/umoci-demo:1.0
# ... and an oci-archive recompressed to zstd.
rm -f "$OUT/skopeo-oci-zstd.tar"
if "${SKOPEO[@]}" copy -q --dest-compress --dest-compress-format zstd "oci:$LAYOUT:demo" "oci-archive:$OUT/skopeo-oci-zstd.tar:demo:zstd" 2>"$WORK/zstd.err"; then
    describe skopeo-oci-zstd oci-archive "oci-archive:$OUT/skopeo-oci-zstd.tar" demo:zstd
    echo "ok skopeo-oci-zstd" >> "$OUT/status"
else
    echo "skipped skopeo-oci-zstd: $(tr '\n' ' ' < "$WORK/zstd.err")" >> "$OUT/status"
fi

# ... and as zstd:chunked (podman's format: a zstd frame per file, the table of contents in
# skippable frames). Not a NAME.kind archive: skopeo 1.9 writes the chunked layers' tars
# anew but keeps the config's diff_ids, so tests/real_tools.rs checks these against the
# `zstd` tool instead of the config.
rm -f "$OUT/skopeo-oci-zstd-chunked.tar"
if "${SKOPEO[@]}" copy -q --dest-compress-format zstd:chunked "oci:$LAYOUT:demo" "oci-archive:$OUT/skopeo-oci-zstd-chunked.tar:demo:chunked" 2>"$WORK/chunked.err"; then
    "${SKOPEO[@]}" inspect --raw "oci-archive:$OUT/skopeo-oci-zstd-chunked.tar" > "$OUT/skopeo-oci-zstd-chunked.manifest"
    echo "ok zstd-chunked" >> "$OUT/status"
else
    rm -f "$OUT/skopeo-oci-zstd-chunked.tar"
    echo "skipped zstd-chunked: $(tr '\n' ' ' < "$WORK/chunked.err")" >> "$OUT/status"
fi

# The umoci layout tarred by GNU tar: an oci-archive with ./-prefixed names.
tar -C "$OUT/layout" -cf "$OUT/gnutar-layout.tar" .
cp "$OUT/skopeo-oci.manifest.json" "$OUT/gnutar-layout.manifest.json"
cp "$OUT/skopeo-oci.config.json" "$OUT/gnutar-layout.config.json"
: > "$OUT/gnutar-layout.tags"   # umoci's tag is the bare ref name `demo`
echo oci-archive > "$OUT/gnutar-layout.kind"

# Whole-archive compression of the docker-archive.
compressed() { # SUFFIX CMD...
    local suffix=$1; shift
    local name="skopeo-docker.tar.$suffix"
    if command -v "$1" >/dev/null; then
        "$@" < "$OUT/skopeo-docker.tar" > "$OUT/$name"
        for f in manifest.json config.json tags kind; do cp "$OUT/skopeo-docker.$f" "$OUT/skopeo-docker-$suffix.$f"; done
        mv "$OUT/$name" "$OUT/skopeo-docker-$suffix.tar"   # gzip/zstd/xz data under a .tar name
        echo "ok $suffix" >> "$OUT/status"
    else
        echo "skipped $suffix: $1 is not installed" >> "$OUT/status"
    fi
}
compressed gz gzip -c -6
compressed zst zstd -q -c -19
compressed xz xz -c -6

# A multi-platform image: the umoci image as linux/amd64 and as linux/arm64/v8 (same layers,
# configs that differ in platform), joined by an image index tagged `multi` in the layout;
# `skopeo copy --all` writes every platform into one oci-archive. References: the index as
# skopeo reads it back, and per platform `PLATFORM CONFIG-DIGEST` (the image ID) from
# `skopeo --override-arch … inspect --config --raw`. No .kind file: it is checked on its own.
multi_platform() {
    python3 - "$LAYOUT" <<'PY'
import hashlib, json, os, sys
layout = sys.argv[1]
def path(d): return os.path.join(layout, 'blobs', 'sha256', d.split(':', 1)[1])
def put(data):
    d = 'sha256:' + hashlib.sha256(data).hexdigest()
    with open(path(d), 'wb') as f: f.write(data)
    return d, len(data)
index = json.load(open(os.path.join(layout, 'index.json')))
demo = next(m for m in index['manifests'] if m.get('annotations', {}).get('org.opencontainers.image.ref.name') == 'demo')
manifest = json.load(open(path(demo['digest'])))
config = json.load(open(path(manifest['config']['digest'])))
entries = []
for arch, variant in (('amd64', None), ('arm64', 'v8')):
    platform = {'architecture': arch, 'os': 'linux'}
    if variant: platform['variant'] = variant
    c = {k: v for k, v in config.items() if k != 'variant'}
    c.update(platform)
    cd, cs = put(json.dumps(c).encode())
    m = dict(manifest, config=dict(manifest['config'], digest=cd, size=cs))
    md, ms = put(json.dumps(m).encode())
    entries.append({'mediaType': 'application/vnd.oci.image.manifest.v1+json', 'digest': md, 'size': ms, 'platform': platform})
idx = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.oci.image.index.v1+json', 'manifests': entries}).encode()
d, size = put(idx)
index['manifests'].append({'mediaType': 'application/vnd.oci.image.index.v1+json', 'digest': d, 'size': size,
                           'annotations': {'org.opencontainers.image.ref.name': 'multi'}})
with open(os.path.join(layout, 'index.json'), 'w') as f: json.dump(index, f)
PY
    local ref="oci-archive:$OUT/multi-platform.tar"
    rm -f "$OUT/multi-platform.tar" "$OUT/multi-platform.platforms"
    "${SKOPEO[@]}" copy -q --all "oci:$LAYOUT:multi" "$ref:strata/multi:1.0"
    "${SKOPEO[@]}" inspect --raw "$ref" > "$OUT/multi-platform.index.json"
    for p in amd64 arm64/v8; do
        local arch=${p%%/*} variant=${p#*/} over=()
        [ "$variant" != "$p" ] && over=(--override-variant "$variant")
        echo "linux/$p sha256:$("${SKOPEO[@]}" --override-os linux --override-arch "$arch" "${over[@]}" inspect --config --raw "$ref" | sha256sum | cut -d' ' -f1)" >> "$OUT/multi-platform.platforms"
    done
    echo "ok multi-platform"
}
multi_platform >> "$OUT/status" 2>"$WORK/multi.err" || echo "skipped multi-platform: $(tr '\n' ' ' < "$WORK/multi.err")" >> "$OUT/status"

# buildah: from scratch, copy, config, commit, push to docker-archive and oci-archive.
# vfs storage under $WORK (no overlay, no root-owned /var/lib/containers); chroot isolation.
# `from scratch` + `copy` never runs a container, so no namespaces are needed.
buildah_archive() {
    command -v buildah >/dev/null || { echo "skipped buildah: buildah is not installed"; return 0; }
    export BUILDAH_ISOLATION=chroot
    local B=(buildah --root "$WORK/broot" --runroot "$WORK/brun" --storage-driver vfs)
    local ctr src="$WORK/bsrc"
    mkdir -p "$src/app" "$src/etc"
    printf '#!/bin/sh\necho built by buildah\n' > "$src/app/run.sh"
    chmod 755 "$src/app/run.sh"
    echo '{"k":"v"}' > "$src/etc/app.json"
    ctr=$("${B[@]}" from --signature-policy "$POLICY" scratch) || { echo "skipped buildah: 'buildah from scratch' failed"; return 0; }
    "${B[@]}" copy "$ctr" "$src/app" /app >/dev/null
    "${B[@]}" config --cmd '["/app/run.sh"]' --env MODE=real --label built.by=buildah --port 9000/tcp "$ctr"
    "${B[@]}" commit -q --signature-policy "$POLICY" "$ctr" strata-buildah:1 >/dev/null
    # A second layer: a new container from the first image.
    ctr=$("${B[@]}" from --signature-policy "$POLICY" strata-buildah:1)
    "${B[@]}" copy "$ctr" "$src/etc/app.json" /etc/app.json >/dev/null
    "${B[@]}" config --label version=2 "$ctr"
    "${B[@]}" commit -q --signature-policy "$POLICY" "$ctr" strata-buildah:2 >/dev/null
    rm -f "$OUT/buildah-docker.tar" "$OUT/buildah-oci.tar"
    "${B[@]}" push -q --signature-policy "$POLICY" strata-buildah:2 "docker-archive:$OUT/buildah-docker.tar:strata/buildah:2"
    "${B[@]}" push -q --signature-policy "$POLICY" strata-buildah:2 "oci-archive:$OUT/buildah-oci.tar:strata/buildah:2"
    describe buildah-docker docker-archive "docker-archive:$OUT/buildah-docker.tar" strata/buildah:2
    describe buildah-oci oci-archive "oci-archive:$OUT/buildah-oci.tar" strata/buildah:2
    echo "ok buildah"
}
buildah_archive >> "$OUT/status" 2>"$WORK/buildah.err" || echo "skipped buildah: $(tr '\n' ' ' < "$WORK/buildah.err")" >> "$OUT/status"

{
    echo "# tools"
    umoci --version
    skopeo --version
    command -v buildah >/dev/null && buildah --version
} > "$OUT/versions"
echo "make-real-archives: wrote $(ls "$OUT"/*.tar | wc -l) archives to $OUT" >&2
