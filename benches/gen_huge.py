#!/usr/bin/env python3
"""Write a ~1.3 GB archive from the large benchmark archive, for the memory check.

    python3 benches/gen_huge.py [OUT_DIR]          (default: benches/out)

Reads OUT_DIR/large.tar (written by gen_large.py) and writes OUT_DIR/huge.tar: a legacy
`docker save` (manifest.json, repositories, <id>/layer.tar, <config>.json) of one image whose
18 layers are large.tar's 6 layers three times over, each copy made distinct (and so stored
again) by one extra file `/.strata-copy-N`. ~1.3 GB, ~82k layer entries: the issue asks for
wasm memory under 128 MiB "for a 1 GiB archive". Deterministic; skipped when huge.tar is
newer than large.tar. Python 3 standard library only.
"""
import hashlib
import io
import json
import os
import sys
import tarfile

COPIES = 3
MTIME = 1_700_000_000


def layer_bytes(big, member):
    """The layer tar's entries, without its end-of-archive blocks."""
    data = big.extractfile(member).read()
    inner = tarfile.open(fileobj=io.BytesIO(data))
    for _ in inner:
        pass
    return data[: inner.offset]


def marker(copy, k):
    """One small entry that makes copy `copy` of layer `k` a different layer."""
    body = f"copy {copy} of layer {k}\n".encode()
    info = tarfile.TarInfo(f".strata-copy-{copy}")
    info.size = len(body)
    info.mtime = MTIME
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.addfile(info, io.BytesIO(body))
    return out.getvalue()  # the entry plus end-of-archive blocks


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out")
    src = os.path.join(out_dir, "large.tar")
    dst = os.path.join(out_dir, "huge.tar")
    if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
        print(f"gen_huge: {dst} is up to date")
        return
    big = tarfile.open(src)
    manifest = json.load(big.extractfile("manifest.json"))[0]
    config = json.load(big.extractfile(manifest["Config"]))
    layers = [big.getmember(name) for name in manifest["Layers"]]
    diff_ids, paths, history = [], [], []
    tmp = dst + ".part"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as out:
        def add(path, data):
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = MTIME
            out.addfile(info, io.BytesIO(data))

        for copy in range(COPIES):
            for k, member in enumerate(layers):
                data = layer_bytes(big, member) + marker(copy, k)
                digest = hashlib.sha256(data).hexdigest()
                diff_ids.append("sha256:" + digest)
                paths.append(f"{digest}/layer.tar")
                add(f"{digest}/layer.tar", data)
                history.append({"created": config.get("created"), "created_by": f"/bin/sh -c layer {k}, copy {copy}"})
                del data
        config = dict(config, rootfs={"type": "layers", "diff_ids": diff_ids}, history=history)
        config_bytes = json.dumps(config, sort_keys=True).encode()
        config_hex = hashlib.sha256(config_bytes).hexdigest()
        add(f"{config_hex}.json", config_bytes)
        add("manifest.json", json.dumps([{"Config": f"{config_hex}.json", "RepoTags": ["strata-bench/huge:1.0"], "Layers": paths}]).encode())
        add("repositories", json.dumps({"strata-bench/huge": {"1.0": diff_ids[-1].split(":")[1]}}).encode())
    os.replace(tmp, dst)
    print(f"gen_huge: wrote {dst} ({os.path.getsize(dst) / 1e6:.0f} MB, {len(paths)} layers)")


if __name__ == "__main__":
    main()
