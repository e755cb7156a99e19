#!/usr/bin/env python3
"""Summarise benches/out/raw.tsv (+ browser.json, notes.txt, large.json) into a table.

    python3 benches/summarize.py benches/out

Prints the table and writes it to OUT/results.md (paste into benches/RESULTS.md)."""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "out")


def load_raw():
    rows = {}
    try:
        with open(os.path.join(out, "raw.tsv")) as f:
            for line in f:
                name, run, wall, rss, rc = line.rstrip("\n").split("\t")
                try:
                    rows.setdefault(name, []).append((float(wall), int(rss), int(rc)))
                except ValueError:
                    pass
    except OSError:
        pass
    return rows


def med(xs):
    return statistics.median(xs) if xs else None


def fmt_s(x):
    return "—" if x is None else (f"{x:.2f} s" if x >= 0.1 else f"{x * 1000:.0f} ms")


def fmt_ms(x):
    return "—" if x is None else (f"{x:.0f} ms" if x < 10_000 else f"{x / 1000:.2f} s")


def fmt_mb(kib):
    return "—" if kib is None else f"{kib / 1024:.1f} MiB"


def mb(v):
    return f"{v / 1048576:.0f} MiB"


def fastest_read_sha(base):
    """The verified ratio is taken against the faster of the two 2-worker read+SHA-256 baselines."""
    raw = [(base.get(k) or {}).get("ms") for k in ("sha2", "sha2a")]
    raw = [v for v in raw if v]
    return min(raw) if raw else None


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        cpu = next(l.split(":", 1)[1].strip() for l in lines if l.startswith("model name"))
        flags = next(l for l in lines if l.startswith("flags"))
        cpu += " (SHA-NI)" if " sha_ni" in flags else " (no SHA-NI)"
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores, {cpu}{mem}, {platform.system()} {platform.release()}"


def tool_version(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except Exception:
        return "?"


def oci_mb(out):
    try:
        with open(os.path.join(out, "large-oci.json")) as f:
            return json.load(f)["bytes"] / 1e6
    except (OSError, ValueError, KeyError):
        return float("nan")


def main():
    rows = load_raw()
    lines = []
    p = lines.append
    try:
        with open(os.path.join(out, "large.json")) as f:
            info = json.load(f)
    except OSError:
        info = {}
    tar_mb = info.get("tar_bytes", 0) / 1e6
    gz_mb = info.get("gz_bytes", 0) / 1e6
    p(f"Date: {datetime.date.today().isoformat()} · Machine: {machine()}")
    p(f"Archive: large.tar {tar_mb:.0f} MB (Docker 25 save, {len(info.get('layers', []))} layers, "
      f"{info.get('layer_entries', '?')} layer entries, {info.get('layer_files', '?')} files), "
      f"large.tar.gz {gz_mb:.0f} MB · warm page cache")
    p(f"Tools: {tool_version(['openssl', 'version'])}; {tool_version(['gzip', '--version'])}")
    n = max((len(v) for v in rows.values()), default=0)
    if rows:
        p("")
        p(f"### Native (median of {n} interleaved runs; min–max in brackets)")
        p("")
        p("| command | wall | peak RSS | ratio | target |")
        p("|---|---|---|---|---|")

        def stat(name):
            r = rows.get(name)
            if not r:
                return None
            walls = [w for w, _, _ in r]
            return med(walls), min(walls), max(walls), med([m for _, m, _ in r]), {c for _, _, c in r}

        def row(label, name, base=None, target="", mbps=None):
            s = stat(name)
            if not s:
                return
            wall, lo, hi, rss, codes = s
            ratio = ""
            if base and stat(base):
                ratio = f"{wall / stat(base)[0]:.2f}× {base_label[base]}"
            speed = f", {mbps / wall:.0f} MB/s" if mbps else ""
            rc = "" if codes == {0} else f" (exit {','.join(map(str, sorted(codes)))})"
            p(f"| {label}{rc} | {fmt_s(wall)} [{lo:.2f}–{hi:.2f}]{speed} | {fmt_mb(rss)} | {ratio} | {target} |")

        base_label = {"openssl_tar": "openssl", "gunzip_openssl": "gunzip+openssl", "dive_tar": "dive",
                      "openssl_blob": "openssl of the largest blob", "strata_inspect_1core": "one core",
                      "strata_inspect_debian": "inspect"}
        row("`openssl dgst -sha256 large.tar`", "openssl_tar", mbps=tar_mb)
        row("`openssl dgst -sha256` of the largest blob alone", "openssl_blob")
        row("`strata inspect large.tar` (every core)", "strata_inspect", "openssl_blob", "≤ 1.25×, ≤ 64 MiB", mbps=tar_mb)
        row("`STRATA_THREADS=1 strata inspect large.tar` (one core)", "strata_inspect_1core", "openssl_tar", "", mbps=tar_mb)
        row("`gzip -dc large.tar.gz \\| openssl dgst -sha256`", "gunzip_openssl", mbps=tar_mb)
        row("`strata inspect large.tar.gz`", "strata_inspect_gz", "gunzip_openssl", "≤ 1.3×, < 64 MiB", mbps=tar_mb)
        row("`CI=true dive --source docker-archive large.tar`", "dive_tar")
        row("`strata ls -R large.tar`", "strata_ls_R", "dive_tar")
        row("`strata ls -R large.tar.gz`", "strata_ls_R_gz", "dive_tar")
        row("`strata waste large.tar`", "strata_waste", "dive_tar")
        row("`strata waste large.tar.gz`", "strata_waste_gz", "dive_tar")
        row("`strata inspect debian-real.tar` (real Debian image)", "strata_inspect_debian")
        row("`strata packages debian-real.tar --json`", "strata_packages_debian", "strata_inspect_debian", "≤ 0.2 s")

    try:
        with open(os.path.join(out, "browser.json")) as f:
            b = json.load(f)
    except (OSError, ValueError):
        b = None
    if b:
        p("")
        settle = b.get("settle_ms")
        when = f"; each file set {settle / 1000:g} s after the page loaded" if settle else ""
        p(f"### Browser ({b.get('browser', 'Chromium')}, headless; median of {b.get('runs', '?')} runs; file from disk via setInputFiles{when})")
        p("")
        p("| measurement | large.tar | large.tar.gz | target |")
        p("|---|---|---|---|")
        base = b.get("baseline", {})

        def bl(key):
            v = base.get(key)
            if not v:
                return "—"
            return f"{fmt_ms(v['ms'])} ({v['mbps']:.0f} MB/s)"

        p(f"| raw read, 1 worker (Blob.slice + FileReaderSync, 8 MiB) | {bl('read1')} | | |")
        p(f"| raw read, 2 workers (halves) | {bl('read2')} | | |")
        p(f"| raw read + crypto.subtle SHA-256 (64 MiB pieces), 1 worker | {bl('sha1')} | | |")
        p(f"| raw read + crypto.subtle SHA-256, 2 workers (every core busy) | {bl('sha2')} | | |")
        p(f"| raw read, 2 workers, 3 async reads in flight each (Blob.arrayBuffer) | {bl('read2a')} | | |")
        p(f"| raw read + crypto.subtle SHA-256, 2 workers, async reads | {bl('sha2a')} | | |")
        page = b.get("page", {})
        t, g = page.get("tar", {}), page.get("gz", {})

        def cell(d, key, fmt=fmt_ms):
            v = d.get(key)
            return "—" if v is None else fmt(v)

        p(f"| page: metadata shown (images, config, history) | {cell(t, 'metadata')} | {cell(g, 'metadata')} | |")
        p(f"| page: interactive (merged tree browsable) | {cell(t, 'interactive')} | {cell(g, 'interactive')} | ≤ 500 ms (tar) |")
        p(f"| page: fully verified | {cell(t, 'verified')} | {cell(g, 'verified')} | |")
        a = page.get("tar_at_once")
        if a:
            p(f"| page, file set the instant the page's script ran: interactive / verified | "
              f"{cell(a, 'interactive')} / {cell(a, 'verified')} | | |")
        sha2 = fastest_read_sha(base)
        if sha2 and t.get("verified"):
            p(f"| page: verified ÷ the faster raw read+SHA-256 with 2 workers | {t['verified'] / sha2:.2f}× | "
              f"{(g['verified'] / sha2) if g.get('verified') else float('nan'):.2f}× (vs the .tar's raw time) | ≤ 1.3× |")
        p(f"| page: wasm memory, browsing worker (high-water) | {cell(t, 'mem_browse', mb)} | {cell(g, 'mem_browse', mb)} | < 128 MiB |")
        p(f"| page: wasm memory, browsing worker after verification | {cell(t, 'mem_verify', mb)} | {cell(g, 'mem_verify', mb)} | < 128 MiB |")
        p(f"| page: wasm memory, each helper worker (index + hash, high-water) | {cell(t, 'mem_helpers', mb)} | {cell(g, 'mem_helpers', mb)} | < 128 MiB |")
        p(f"| page: show one file (hash → viewer shows text) | {cell(t, 'show_file')} | {cell(g, 'show_file')} | ≤ 100 ms |")
        p(f"| worker: readFile request alone | {cell(t, 'read_file')} | {cell(g, 'read_file')} | |")
        core = b.get("core", {})
        ct, cg = core.get("tar", {}), core.get("gz", {})
        if core:
            p("")
            p("Core alone (benches/raw/core.html: the same wasm in one worker, each phase timed, nothing else running):")
            p("")
            p("| phase | large.tar | large.tar.gz |")
            p("|---|---|---|")
            for key, label in (("open", "Session.open (outer index + metadata; whole pass for .gz)"),
                               ("index_layers", "index_layers (tar headers of every layer)"),
                               ("build_tree", "build_tree(0) (merged tree)"), ("list_root", "list_dir('/')"),
                               ("read_file", f"read_file({b.get('file_path', '/app/package.json')})"),
                               ("verify", "verify (hash every blob)")):
                p(f"| {label} | {cell(ct, key)} | {cell(cg, key)} |")
            p(f"| wasm memory after index / at end | {cell(ct, 'mem_after_index', mb)} / {cell(ct, 'mem_end', mb)} | "
              f"{cell(cg, 'mem_after_index', mb)} / {cell(cg, 'mem_end', mb)} |")
            if base.get("small_read_ms") is not None:
                p("")
                p(f"One 512-byte `FileReaderSync.readAsArrayBuffer(blob.slice(…))` costs {base['small_read_ms']:.2f} ms "
                  "in this browser (median of 1000 reads spread over the file).")
        o = page.get("oci")
        if o:
            p("")
            p(f"The same image as an OCI archive with gzip layers (`large-oci.tar`, {oci_mb(out):.0f} MB, "
              "benches/gen_oci_gzip.py: each layer through `gzip -6 -n`). A gzip layer cannot be walked "
              "header by header: the merged tree is there once every layer has been decompressed, hashed "
              "and indexed.")
            p("")
            p("| measurement | large-oci.tar |")
            p("|---|---|")
            p(f"| page: metadata shown | {cell(o, 'metadata')} |")
            p(f"| page: interactive (merged tree browsable) | {cell(o, 'interactive')} |")
            p(f"| page: fully verified | {cell(o, 'verified')} |")
            p(f"| page: wasm memory, browsing worker / each helper (high-water) | {cell(o, 'mem_browse', mb)} / {cell(o, 'mem_helpers', mb)} |")
            p(f"| page: show one file | {cell(o, 'show_file')} |")
        for note in b.get("notes", []):
            p(f"- {note}")

    try:
        with open(os.path.join(out, "browser-huge.json")) as f:
            hb = json.load(f)
    except (OSError, ValueError):
        hb = None
    if hb and hb.get("page", {}).get("tar"):
        t = hb["page"]["tar"]
        base = hb.get("baseline", {})
        size = (hb.get("file_bytes") or 0) / 1e6
        p("")
        p(f"### Browser, huge.tar ({size:.0f} MB: large.tar's 6 layers three times over, 18 layers, "
          f"~82k layer entries; median of {hb.get('runs', '?')} runs, same method)")
        p("")
        p("| measurement | huge.tar | target |")
        p("|---|---|---|")
        for key, label in (("read2a", "raw read, 2 workers, async reads"), ("sha2a", "raw read + crypto.subtle SHA-256, 2 workers, async reads")):
            v = base.get(key)
            if v:
                p(f"| {label} | {fmt_ms(v['ms'])} ({v['mbps']:.0f} MB/s) | |")
        p(f"| page: interactive / fully verified | {fmt_ms(t['interactive'])} / {fmt_ms(t['verified'])} | |")
        sha2 = fastest_read_sha(base)
        if sha2 and t.get("verified"):
            p(f"| page: verified ÷ the faster raw read+SHA-256 with 2 workers | {t['verified'] / sha2:.2f}× | ≤ 1.3× |")
        p(f"| page: wasm memory, browsing worker (high-water / after verification) | {mb(t['mem_browse'])} / {mb(t['mem_verify'])} | < 128 MiB for 1 GiB |")
        p(f"| page: wasm memory, each helper worker (high-water) | {mb(t['mem_helpers'])} | < 128 MiB |")
        p(f"| page: show one file | {fmt_ms(t['show_file'])} | ≤ 100 ms |")

    try:
        with open(os.path.join(out, "notes.txt")) as f:
            notes = [l.strip() for l in f if l.strip()]
    except OSError:
        notes = []
    if notes:
        p("")
        for note in notes:
            p(f"- {note}")
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
