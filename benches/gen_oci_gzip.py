#!/usr/bin/env python3
"""Write benches/out/large-oci.tar: the image of large.tar as an OCI image archive with
gzip layers (what `skopeo copy docker-archive:… oci-archive:…`, buildah and containerd
write), to time the page on compressed layers.

    python3 benches/gen_oci_gzip.py [OUT_DIR]

Each layer blob of large.tar goes through `gzip -6 -n`; the config (and so the diff_ids
and the image ID) stays as it is; the manifest names the gzip blobs; index.json names the
manifest. No manifest.json: an OCI archive, not a docker save. Deterministic; reused when
large-oci.json says it was made from the large.tar that is there now.
Only the Python 3 standard library and the `gzip` program are used.
"""
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

VERSION = 1
MTIME = 1700000000


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    src = os.path.join(out_dir, "large.tar")
    dst = os.path.join(out_dir, "large-oci.tar")
    meta = os.path.join(out_dir, "large-oci.json")
    try:
        with open(meta) as f:
            info = json.load(f)
        if (info.get("version") == VERSION and info.get("source_bytes") == os.path.getsize(src)
                and os.path.getsize(dst) == info["bytes"]):
            print(f"reusing {dst} ({info['bytes'] / 1e6:.0f} MB)", file=sys.stderr)
            return
    except (OSError, ValueError, KeyError):
        pass
    print(f"writing {dst} (gzip -6 -n of each layer of large.tar)", file=sys.stderr)
    with tarfile.open(src) as t:
        members = {m.name: m for m in t.getmembers()}
        index = json.load(t.extractfile("index.json"))
        manifest_name = "blobs/sha256/" + index["manifests"][0]["digest"].split(":", 1)[1]
        manifest = json.load(t.extractfile(manifest_name))
        config_name = "blobs/sha256/" + manifest["config"]["digest"].split(":", 1)[1]
        config = t.extractfile(config_name).read()
        blobs = []  # (hex, path of the gzip'd layer)
        layers = []
        for k, layer in enumerate(manifest["layers"]):
            m = members["blobs/sha256/" + layer["digest"].split(":", 1)[1]]
            part = os.path.join(out_dir, f"large-oci-layer{k}.gz")
            with open(part, "wb") as out:
                gz = subprocess.Popen(["gzip", "-6", "-n", "-c"], stdin=subprocess.PIPE, stdout=out)
                data = t.extractfile(m)
                while True:
                    piece = data.read(4 << 20)
                    if not piece:
                        break
                    gz.stdin.write(piece)
                gz.stdin.close()
                if gz.wait() != 0:
                    sys.exit("gzip failed")
            h = hashlib.sha256()
            with open(part, "rb") as f:
                for piece in iter(lambda: f.read(4 << 20), b""):
                    h.update(piece)
            blobs.append((h.hexdigest(), part))
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": "sha256:" + h.hexdigest(), "size": os.path.getsize(part)})
            print(f"  layer {k}: {m.size / 1e6:7.1f} MB → {os.path.getsize(part) / 1e6:6.1f} MB", file=sys.stderr)
    new_manifest = dict(manifest, layers=layers)
    manifest_bytes = json.dumps(new_manifest, separators=(",", ":"), sort_keys=True).encode()
    manifest_hex = hashlib.sha256(manifest_bytes).hexdigest()
    entry = dict(index["manifests"][0], digest="sha256:" + manifest_hex, size=len(manifest_bytes))
    new_index = dict(index, manifests=[entry])

    def add_bytes(tar, path, data):
        ti = tarfile.TarInfo(path)
        ti.size, ti.mode, ti.mtime = len(data), 0o644, MTIME
        tar.addfile(ti, io.BytesIO(data))

    part = dst + ".part"
    with tarfile.open(part, "w", format=tarfile.PAX_FORMAT, copybufsize=4 << 20) as tar:
        add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_bytes(tar, "index.json", json.dumps(new_index, separators=(",", ":")).encode())
        for hex_digest, path in blobs:
            ti = tarfile.TarInfo(f"blobs/sha256/{hex_digest}")
            ti.size, ti.mode, ti.mtime = os.path.getsize(path), 0o644, MTIME
            with open(path, "rb") as f:
                tar.addfile(ti, f)
        add_bytes(tar, f"blobs/sha256/{config_name.rsplit('/', 1)[1]}", config)
        add_bytes(tar, f"blobs/sha256/{manifest_hex}", manifest_bytes)
    os.replace(part, dst)
    for _, path in blobs:
        os.remove(path)
    info = {"version": VERSION, "source_bytes": os.path.getsize(src), "bytes": os.path.getsize(dst),
            "layers": [{"digest": l["digest"], "size": l["size"]} for l in layers]}
    with open(meta, "w") as f:
        json.dump(info, f, indent=1)
    print(f"  large-oci.tar {info['bytes'] / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
