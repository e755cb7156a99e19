#!/usr/bin/env python3
"""Write the large benchmark archive for strata, deterministically.

    python3 benches/gen_large.py [OUT_DIR]          (default: benches/out)

Produces, in OUT_DIR:
  large.tar      a Docker 25+ style `docker save` (classic store): OCI layout (oci-layout,
                 index.json, blobs/sha256/…) plus the legacy manifest.json and repositories,
                 uncompressed layer blobs. ~410 MB, ~29k layer entries, 6 layers, 4 empty-layer
                 history entries, whiteouts of files and of a directory, an opaque directory,
                 symlinks, hardlinks, PAX long names, files overwritten by later layers.
  large.tar.gz   the same archive through `gzip -6 -n` (what `docker save img | gzip` gives).
  large.json     what the generator knows (digests, counts, sizes) for cross-checking.

Everything is derived from fixed seeds: the same script writes byte-identical files. When the
three files exist and large.json records this generator's version, nothing is rewritten.
Only the Python 3 standard library and the `gzip` program are used.
"""
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile

VERSION = 3  # bump when the output changes
MTIME = 1_700_000_000
CREATED = "2024-05-01T12:00:00Z"

WORDS = (
    "the of and to in is for on that with as by this be are from at or an it not which have "
    "config value error return function default option include define struct static const "
    "int char void unsigned long size_t buffer length offset string path file directory "
    "license copyright permission software warranty merchantability fitness purpose notice "
    "package version depends description maintainer section priority architecture installed "
    "module export import require async await promise callback undefined null true false "
    "usr lib bin share local etc var opt tmp home root debian ubuntu alpine node python"
).split()


class Content:
    """Deterministic file bodies: compressible text, or 'binary' mixing random, text and zeros."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        lines = []
        n = 0
        while n < (4 << 20):
            k = self.rng.randint(3, 14)
            line = " ".join(self.rng.choice(WORDS) for _ in range(k))
            if self.rng.random() < 0.15:
                line = "    " + line + ";"
            lines.append(line)
            n += len(line) + 1
        self.text_pool = ("\n".join(lines) + "\n").encode()
        self.rand_pool = self.rng.randbytes(8 << 20)

    def text(self, size):
        out = bytearray()
        while len(out) < size:
            take = min(size - len(out), 256 * 1024)
            start = self.rng.randrange(0, len(self.text_pool) - take)
            out += self.text_pool[start:start + take]
        return bytes(out)

    def binary(self, size):
        out = bytearray(b"\x7fELF\x02\x01\x01\x00" + bytes(8))
        while len(out) < size:
            take = min(size - len(out), self.rng.choice((4096, 16384, 65536)))
            r = self.rng.random()
            if r < 0.35:
                # fresh random bytes (incompressible code/data)
                out += self.rng.randbytes(take)
            elif r < 0.45:
                start = self.rng.randrange(0, len(self.rand_pool) - take)
                out += self.rand_pool[start:start + take]
            elif r < 0.82:
                start = self.rng.randrange(0, len(self.text_pool) - take)
                out += self.text_pool[start:start + take]
            else:
                out += bytes(take)
        return bytes(out[:size])


class Layer:
    """Entries of one layer tar, written in path order like docker's walk (parents first)."""

    def __init__(self, name):
        self.name = name
        self.entries = {}  # path -> (TarInfo, bytes|None)
        self.files = 0

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.entries:
                self.dir(d)

    def dir(self, path, mode=0o755):
        ti = tarfile.TarInfo(path)
        ti.type = tarfile.DIRTYPE
        ti.mode = mode
        self._put(ti, None)

    def file(self, path, data, mode=0o644, uid=0, gid=0):
        self._parents(path)
        ti = tarfile.TarInfo(path)
        ti.size = len(data)
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        self._put(ti, data)
        self.files += 1

    def symlink(self, path, target):
        self._parents(path)
        ti = tarfile.TarInfo(path)
        ti.type = tarfile.SYMTYPE
        ti.linkname = target
        ti.mode = 0o777
        self._put(ti, None)

    def hardlink(self, path, target):
        self._parents(path)
        ti = tarfile.TarInfo(path)
        ti.type = tarfile.LNKTYPE
        ti.linkname = target
        ti.mode = 0o755
        self._put(ti, None)

    def whiteout(self, path):
        d, _, base = path.rpartition("/")
        self.file((d + "/" if d else "") + ".wh." + base, b"")

    def opaque(self, directory):
        self.file(directory + "/.wh..wh..opq", b"")

    def _put(self, ti, data):
        ti.mtime = MTIME
        ti.uname = ti.gname = ""
        self.entries[ti.name] = (ti, data)

    def write(self, path):
        """Write the layer tar; return (sha256 hex, size)."""
        h = hashlib.sha256()
        with open(path, "wb") as raw:
            sink = HashingWriter(raw, h)
            with tarfile.open(fileobj=sink, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for name in sorted(self.entries, key=lambda p: p.split("/")):
                    ti, data = self.entries[name]
                    tar.addfile(ti, io.BytesIO(data) if data is not None else None)
            size = sink.n
        return h.hexdigest(), size


class HashingWriter:
    def __init__(self, f, h):
        self.f, self.h, self.n = f, h, 0

    def write(self, b):
        self.h.update(b)
        self.f.write(b)
        self.n += len(b)
        return len(b)

    def tell(self):
        return self.n


def lognormal_size(rng, median, sigma, lo, hi):
    return int(max(lo, min(hi, rng.lognormvariate(0, sigma) * median)))


def build_layers():
    c = Content(20240501)
    rng = random.Random(7)
    layers = []

    # -- layer 0: a Debian-like base system (~15k files) --------------------------------
    base = Layer("base")
    for d in ("bin", "sbin", "lib", "lib64"):
        base.symlink(d, "usr/" + d)
    for i in range(260):
        base.file(f"etc/conf{i:03}.d/settings.conf", c.text(lognormal_size(rng, 900, 1.0, 40, 20000)))
    base.file("etc/ld.so.cache", c.binary(40_000))
    base.file("etc/passwd", c.text(1_200))
    base.file("etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    pkgs = [f"pkg{i:03}" for i in range(420)]
    for p in pkgs:
        base.file(f"usr/share/doc/{p}/copyright", c.text(lognormal_size(rng, 3000, 0.8, 200, 60_000)))
        base.file(f"usr/share/doc/{p}/changelog.Debian.gz", c.binary(lognormal_size(rng, 1500, 1.0, 100, 40_000)))
    for region in ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific"):
        for i in range(200):
            base.file(f"usr/share/zoneinfo/{region}/City_{i:03}", c.binary(lognormal_size(rng, 1800, 0.5, 100, 8000)))
    for loc in range(90):
        for dom in range(22):
            base.file(f"usr/share/locale/l{loc:02}/LC_MESSAGES/domain{dom:02}.mo",
                      c.binary(lognormal_size(rng, 5000, 1.0, 300, 200_000)))
    for sec in range(1, 9):
        for i in range(320):
            base.file(f"usr/share/man/man{sec}/page{i:03}.{sec}.gz", c.binary(lognormal_size(rng, 2500, 0.9, 200, 50_000)))
    for i in range(1400):
        real = f"usr/lib/x86_64-linux-gnu/lib{i:04}.so.1.2.{i % 7}"
        base.file(real, c.binary(lognormal_size(rng, 14_000, 1.3, 2_000, 3_000_000)), mode=0o644)
        if i % 4 == 0:
            base.symlink(f"usr/lib/x86_64-linux-gnu/lib{i:04}.so.1", f"lib{i:04}.so.1.2.{i % 7}")
    base.file("usr/lib/x86_64-linux-gnu/libLLVM-15.so.1", c.binary(16_000_000))
    for i in range(700):
        base.file(f"usr/bin/tool{i:03}", c.binary(lognormal_size(rng, 15_000, 1.2, 3_000, 4_000_000)), mode=0o755)
    base.file("usr/bin/perl5.36.0", c.binary(3_800_000), mode=0o755)
    base.hardlink("usr/bin/perl", "usr/bin/perl5.36.0")
    for i in range(16):
        base.hardlink(f"usr/bin/alias{i:02}", f"usr/bin/tool{i:03}")
    for i in range(3800):
        mod = f"usr/lib/python3.11/pkg{i // 60:02}/mod{i % 60:02}.py"
        base.file(mod, c.text(lognormal_size(rng, 4000, 1.0, 100, 200_000)))
    base.file("var/lib/dpkg/status", c.text(1_600_000))
    base.dir("tmp", 0o1777)
    base.dir("root", 0o700)
    layers.append(("/bin/sh -c #(nop) ADD file:6b4c1d0a2f5e in / ", base))

    # -- layer 1: apt-get install (lists, .deb cache, compilers) ------------------------
    apt = Layer("apt")
    for i in range(12):
        apt.file(f"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.{i:02}",
                 c.text(2_000_000))
    apt.file("var/lib/apt/lists/lock", b"")
    for i in range(24):
        apt.file(f"var/cache/apt/archives/pkg{i:02}_1.0-1_amd64.deb", c.binary(lognormal_size(rng, 900_000, 0.8, 50_000, 6_000_000)))
    apt.file("var/cache/apt/archives/lock", b"")
    apt.dir("var/cache/apt/archives/partial")
    for i in range(650):
        apt.file(f"usr/lib/gcc/x86_64-linux-gnu/12/include/h{i:03}.h", c.text(lognormal_size(rng, 6000, 1.0, 200, 100_000)))
    apt.file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", c.binary(14_000_000), mode=0o755)
    apt.file("usr/lib/gcc/x86_64-linux-gnu/12/cc1plus", c.binary(14_000_000), mode=0o755)
    apt.file("var/lib/dpkg/status", c.text(1_900_000))           # modified (shadows base)
    apt.file("etc/ld.so.cache", c.binary(52_000))                 # modified
    layers.append(("/bin/sh -c apt-get update && apt-get install -y --no-install-recommends build-essential", apt))

    # -- layer 2: clean-up (whiteouts of files, opaque cache dir re-populated) ----------
    clean = Layer("clean")
    for i in range(12):
        clean.whiteout(f"var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.{i:02}")
    clean.opaque("var/cache/apt/archives")
    clean.file("var/cache/apt/archives/lock", b"")
    clean.dir("var/cache/apt/archives/partial")
    for p in pkgs[:60]:
        clean.whiteout(f"usr/share/doc/{p}")                     # whole directories deleted
    layers.append(("/bin/sh -c rm -rf /var/lib/apt/lists/* /usr/share/doc/pkg0* && apt-get clean", clean))

    # -- layer 3: npm ci (many small files, long names) ---------------------------------
    npm = Layer("npm")
    npm.file("app/package.json", c.text(1_800))
    npm.file("app/package-lock.json", c.text(900_000))
    for m in range(520):
        root = f"app/node_modules/@scope{m % 9}/module-with-a-rather-long-name-{m:03}"
        if m % 5 == 0:
            root += f"/node_modules/nested-dependency-package-{m:03}-with-long-name/lib/internal/helpers"
        npm.file(f"{root}/package.json", c.text(lognormal_size(rng, 1200, 0.6, 200, 8000)))
        for f in range(17):
            npm.file(f"{root}/lib/file{f:02}.js", c.text(lognormal_size(rng, 2500, 1.1, 60, 120_000)))
    for m in range(8):
        npm.file(f"app/node_modules/native{m}/build/Release/binding.node", c.binary(lognormal_size(rng, 1_500_000, 0.6, 200_000, 8_000_000)), mode=0o755)
    npm.file("app/node_modules/.cache/babel/cache.bin", c.binary(9_000_000))
    layers.append(("RUN |1 NODE_ENV=production /bin/sh -c npm ci --omit=dev # buildkit", npm))

    # -- layer 4: copy sources, build (dist bundle, build cache, overwrites) ------------
    build = Layer("build")
    for i in range(480):
        build.file(f"app/src/components/c{i // 40:02}/Component{i:03}.tsx", c.text(lognormal_size(rng, 3500, 0.9, 200, 60_000)))
    for i in range(260):
        build.file(f"app/dist/assets/chunk-{i:03}.js", c.text(lognormal_size(rng, 30_000, 1.0, 1_000, 900_000)))
    build.file("app/dist/model.onnx", c.binary(32_000_000))
    for i in range(120):
        build.file(f"app/.cache/webpack/pack-{i:03}.pack", c.binary(lognormal_size(rng, 150_000, 0.7, 10_000, 2_000_000)))
    build.file("app/package.json", c.text(1_900))                  # modified
    for i in range(0, 3800, 97):
        build.file(f"usr/lib/python3.11/pkg{i // 60:02}/mod{i % 60:02}.py", c.text(5_000))  # modified
    layers.append(("/bin/sh -c npm run build", build))

    # -- layer 5: delete the build cache, chmod a big file, re-add a deleted path -------
    fin = Layer("final")
    fin.whiteout("app/.cache")                                     # directory whiteout
    fin.whiteout("app/node_modules/.cache")
    fin.file("app/dist/model.onnx", c.binary(32_000_000), mode=0o600, uid=1000, gid=1000)  # rewritten = waste
    fin.file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.00",
             c.text(20_000))                                       # deleted in layer 2, re-added
    fin.symlink("app/current", "dist")
    layers.append(("/bin/sh -c rm -rf /app/.cache /app/node_modules/.cache && chown 1000 /app/dist/model.onnx", fin))
    return layers


def write_archive(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    layers = build_layers()
    written = []
    for i, (cmd, layer) in enumerate(layers):
        path = os.path.join(tmp, f"layer{i}.tar")
        digest, size = layer.write(path)
        written.append({"path": path, "digest": digest, "size": size, "created_by": cmd,
                        "entries": len(layer.entries), "files": layer.files})
        print(f"  layer {i}: {len(layer.entries):6} entries, {size / 1e6:7.1f} MB  sha256:{digest[:12]}", file=sys.stderr)
        del layer
    diff_ids = ["sha256:" + w["digest"] for w in written]
    history = []
    empty_after = {  # empty-layer history entries (ENV, CMD, …) after layer k
        0: ['/bin/sh -c #(nop)  CMD ["bash"]'],
        2: ["WORKDIR /app", "ENV NODE_ENV=production"],
        4: ["EXPOSE map[3000/tcp:{}]"],
        5: ['CMD ["node" "dist/server.js"]'],
    }
    for i, w in enumerate(written):
        history.append({"created": CREATED, "created_by": w["created_by"],
                        "comment": "buildkit.dockerfile.v0" if i >= 3 else ""})
        for cmd in empty_after.get(i, []):
            history.append({"created": CREATED, "created_by": cmd, "empty_layer": True,
                            "comment": "buildkit.dockerfile.v0" if i >= 2 else ""})
    config = {
        "architecture": "amd64", "os": "linux", "created": CREATED,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
            "Cmd": ["node", "dist/server.js"], "WorkingDir": "/app", "User": "1000",
            "ExposedPorts": {"3000/tcp": {}},
            "Labels": {"org.opencontainers.image.title": "strata-bench", "org.opencontainers.image.version": "1.0"},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + config_hex, "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + w["digest"], "size": w["size"]} for w in written],
    }
    manifest_bytes = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
    manifest_hex = hashlib.sha256(manifest_bytes).hexdigest()
    name, tag = "strata-bench/app", "1.0"
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": "sha256:" + manifest_hex, "size": len(manifest_bytes),
                       "annotations": {"io.containerd.image.name": f"docker.io/{name}:{tag}",
                                       "org.opencontainers.image.ref.name": tag}}],
    }
    legacy = [{"Config": f"blobs/sha256/{config_hex}", "RepoTags": [f"{name}:{tag}"],
               "Layers": [f"blobs/sha256/{w['digest']}" for w in written]}]
    # the legacy layer ID of the top layer (chain of v1 ids); any stable hex works for tools
    repositories = {name: {tag: written[-1]["digest"]}}

    tar_path = os.path.join(out_dir, "large.tar")
    part = tar_path + ".part"

    def add_bytes(tar, path, data, mode=0o644):
        ti = tarfile.TarInfo(path)
        ti.size, ti.mode, ti.mtime = len(data), mode, MTIME
        tar.addfile(ti, io.BytesIO(data))

    def add_dir(tar, path):
        ti = tarfile.TarInfo(path)
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, MTIME
        tar.addfile(ti)

    with tarfile.open(part, "w", format=tarfile.PAX_FORMAT, copybufsize=4 << 20) as tar:
        add_dir(tar, "blobs")
        add_dir(tar, "blobs/sha256")
        for w in written:
            ti = tarfile.TarInfo(f"blobs/sha256/{w['digest']}")
            ti.size, ti.mode, ti.mtime = w["size"], 0o644, MTIME
            with open(w["path"], "rb") as f:
                tar.addfile(ti, f)
        add_bytes(tar, f"blobs/sha256/{config_hex}", config_bytes)
        add_bytes(tar, f"blobs/sha256/{manifest_hex}", manifest_bytes)
        add_bytes(tar, "index.json", json.dumps(index, separators=(",", ":")).encode())
        add_bytes(tar, "manifest.json", json.dumps(legacy, separators=(",", ":")).encode())
        add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_bytes(tar, "repositories", json.dumps(repositories, separators=(",", ":")).encode())
    os.replace(part, tar_path)
    shutil.rmtree(tmp)

    gz_path = tar_path + ".gz"
    print("  gzip -6 -n large.tar → large.tar.gz", file=sys.stderr)
    with open(gz_path + ".part", "wb") as out:
        subprocess.run(["gzip", "-6", "-n", "-c", tar_path], stdout=out, check=True)
    os.replace(gz_path + ".part", gz_path)

    info = {
        "version": VERSION,
        "image": f"{name}:{tag}",
        "image_id": "sha256:" + config_hex,
        "manifest_digest": "sha256:" + manifest_hex,
        "tar_bytes": os.path.getsize(tar_path),
        "gz_bytes": os.path.getsize(gz_path),
        "layers": [{"diff_id": "sha256:" + w["digest"], "size": w["size"], "entries": w["entries"],
                    "files": w["files"]} for w in written],
        "layer_entries": sum(w["entries"] for w in written),
        "layer_files": sum(w["files"] for w in written),
    }
    with open(os.path.join(out_dir, "large.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    meta = os.path.join(out_dir, "large.json")
    try:
        with open(meta) as f:
            info = json.load(f)
        if (info.get("version") == VERSION
                and os.path.getsize(os.path.join(out_dir, "large.tar")) == info["tar_bytes"]
                and os.path.getsize(os.path.join(out_dir, "large.tar.gz")) == info["gz_bytes"]):
            print(f"reusing {out_dir}/large.tar ({info['tar_bytes'] / 1e6:.0f} MB)", file=sys.stderr)
            return
    except (OSError, ValueError, KeyError):
        pass
    print(f"writing {out_dir}/large.tar (deterministic, takes a minute or two)", file=sys.stderr)
    info = write_archive(out_dir)
    print(f"  large.tar {info['tar_bytes'] / 1e6:.1f} MB, large.tar.gz {info['gz_bytes'] / 1e6:.1f} MB, "
          f"{info['layer_entries']} layer entries ({info['layer_files']} files)", file=sys.stderr)


if __name__ == "__main__":
    main()
