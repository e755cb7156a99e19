//! Sparse files (issue 20, item 8): GNU tar's four sparse formats, as Go's archive/tar (and
//! so Docker, containerd and podman) unpacks them.
//!
//! Before: an old GNU sparse entry listed as `?rw-r--r-- 0B`, `cat` said it was not a file
//! and `export` dropped it; a PAX 1.0 one showed as `GNUSparseFile.NNN/big.img` holding its
//! raw map. Here real archives made by GNU tar (`--sparse`, every `--format` and
//! `--sparse-version`) of files made sparse with `truncate` and `dd conv=notrunc` are
//! wrapped into images by strata's fixture builder and checked against what `tar -x`
//! extracts (names, sizes, sha256 of the content): every layer walk, `strata ls -l -R`,
//! `strata cat`, `strata export` (merged and `--layer`), `strata waste`, and Python's
//! tarfile where it reads the format. Damaged maps are findings, never panics.

mod common;

use common::run;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::chunk_index::{ChunkIndexer, Need};
use strata::fixture::{self, Entry, ImageSpec, LayerSpec, Options, TarWriter};
use strata::layer::{index_stream, EntryKind, LayerIndex};
use strata::Archive;

const MIB: u64 = 1 << 20;

/// GNU tar's sparse formats: (label, tar options).
const FORMATS: [(&str, &[&str]); 4] = [
    ("old GNU", &["--format=gnu"]),
    ("PAX 0.0", &["--format=posix", "--sparse-version=0.0"]),
    ("PAX 0.1", &["--format=posix", "--sparse-version=0.1"]),
    ("PAX 1.0", &["--format=posix", "--sparse-version=1.0"]),
];

fn tempdir() -> PathBuf {
    common::tempdir("sparse")
}

/// `truncate -s size`, then each (offset, bytes) written in place with `dd conv=notrunc`:
/// the file is a hole everywhere else.
fn sparse_file(path: &Path, size: u64, writes: &[(u64, &[u8])]) {
    run(Command::new("truncate").arg("-s").arg(size.to_string()).arg(path));
    for (offset, bytes) in writes {
        let mut dd = Command::new("dd");
        dd.arg(format!("of={}", path.display()))
            .arg("bs=1")
            .arg(format!("seek={offset}"))
            .arg("conv=notrunc")
            .arg("status=none")
            .stdin(std::process::Stdio::piped());
        let mut child = dd.spawn().expect("dd");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), bytes).expect("write");
        assert!(child.wait().expect("dd").success());
    }
}

/// The tree every format packs: a 64 MiB file with data at its start, inside and at its
/// very end; one that ends in a hole; one of 40 fragments (the old GNU header holds 4, so
/// its map goes on in extension blocks); one that is all hole; and plain files around them.
fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("holes")).expect("mkdir");
    sparse_file(&root.join("holes/big.img"), 64 * MIB, &[(0, b"HEAD"), (10 * MIB + 7, b"MIDDLE"), (64 * MIB - 4, b"TAIL")]);
    sparse_file(&root.join("holes/ends-in-hole.img"), 3 * MIB, &[(4096, &[0xAB; 5000])]);
    let many: Vec<(u64, Vec<u8>)> = (0..40u64).map(|k| (k * 256 * 1024 + 4096, format!("fragment {k}").into_bytes())).collect();
    let many: Vec<(u64, &[u8])> = many.iter().map(|(o, b)| (*o, b.as_slice())).collect();
    sparse_file(&root.join("holes/many.img"), 11 * MIB, &many);
    sparse_file(&root.join("holes/empty.img"), 2 * MIB, &[]);
    std::fs::write(root.join("a-plain.txt"), "before\n").expect("write");
    std::fs::write(root.join("z-plain.txt"), "after the sparse files\n").expect("write");
}

/// GNU tar's layer of `root` in one format (the sparse files detected by `--sparse`).
fn gnu_tar(root: &Path, options: &[&str], out: &Path) -> Vec<u8> {
    common::gnu_tar_pack(root, true, options, out);
    std::fs::read(out).expect("read tar")
}

/// What `tar -x` makes of a tar: every regular file's (size, sha256), by path.
fn extracted(tar: &Path) -> BTreeMap<String, (u64, String)> {
    let dir = tempdir();
    run(Command::new("tar").arg("-xf").arg(tar).arg("-C").arg(&dir));
    let mut files = BTreeMap::new();
    collect_files(&dir, &dir, &mut files);
    std::fs::remove_dir_all(&dir).ok();
    files
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, String)>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        let kind = e.file_type().expect("type");
        if kind.is_dir() {
            collect_files(root, &e.path(), out);
        } else if kind.is_file() {
            let mut hasher = Sha256::new();
            let mut f = std::fs::File::open(e.path()).expect("open");
            let mut buf = vec![0u8; 1 << 20];
            let mut size = 0u64;
            loop {
                let n = std::io::Read::read(&mut f, &mut buf).expect("read");
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                size += n as u64;
            }
            let rel = e.path().strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            out.insert(rel, (size, hex(&hasher.finalize())));
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file entry of a layer by every walk (streaming, seeking, chunk-fed), which must
/// agree: (path, kind, size, has a map). Err (the streaming walk's finding) if refused.
fn walk_all_ways(layer: &[u8]) -> Result<Vec<(String, EntryKind, u64, bool)>, String> {
    let rows = |ix: &LayerIndex| {
        ix.entries
            .iter()
            .filter(|e| e.kind != EntryKind::Dir)
            .map(|e| (String::from_utf8_lossy(&e.path).into_owned(), e.kind, e.size, e.sparse.is_some()))
            .collect::<Vec<_>>()
    };
    let (streamed, problem) = index_stream(&mut &layer[..]);
    let seeked = Archive::quick_index_span(&mut Cursor::new(layer), 0, layer.len() as u64);
    let mut ix = ChunkIndexer::new(layer.len() as u64);
    let mut need = ix.need();
    while let Need::At(at) = need {
        let at = at as usize;
        need = ix.feed(at as u64, &layer[at..(at + 700).min(layer.len())]);
    }
    let fed = if need == Need::Done { ix.finish() } else { None };
    match problem {
        Some(p) => {
            assert!(seeked.is_none(), "the seeking walk accepted what the streaming walk refused: {}", p.message.english());
            assert!(fed.is_none(), "the chunk-fed walk accepted what the streaming walk refused: {}", p.message.english());
            Err(format!("{}: {}", p.message.code.as_str(), p.message.english()))
        }
        None => {
            let want = rows(&streamed);
            assert_eq!(seeked.as_ref().map(rows), Some(want.clone()), "seeking walk");
            assert_eq!(fed.as_ref().map(rows), Some(want.clone()), "chunk-fed walk");
            // The seeking and chunk-fed walks find the same data offsets too.
            let offsets = |ix: &LayerIndex| ix.entries.iter().map(|e| e.data_offset).collect::<Vec<_>>();
            assert_eq!(seeked.as_ref().map(offsets), Some(offsets(&streamed)), "seeking walk's data offsets");
            Ok(want)
        }
    }
}

/// An image of one layer: exactly these tar bytes.
fn image_of(layer_tar: &[u8]) -> Vec<u8> {
    let layer = LayerSpec { no_end_marker: true, trailing: layer_tar.to_vec(), ..LayerSpec::new() };
    let image = ImageSpec::new(&["sparse:1"]).layer(layer, "ADD holes /");
    fixture::docker_archive(&[image], &Options::default()).bytes
}

fn strata(args: &[&str]) -> (Option<i32>, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("strata");
    (out.status.code(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `strata cat` of a file, hashed as it streams (`| sha256sum`): never held whole here.
fn cat_sha256(archive: &Path, path: &str) -> String {
    let script = format!("'{}' cat '{}' '{}' | sha256sum", env!("CARGO_BIN_EXE_strata"), archive.display(), path);
    let out = run(Command::new("sh").arg("-c").arg(script).env("SHELLOPTS", "pipefail"));
    String::from_utf8(out).expect("text").split_whitespace().next().expect("sum").to_string()
}

#[test]
fn every_format_reads_as_tar_extracts_it() {
    if !common::has_binary("tar") || !common::has_binary("truncate") || !common::has_binary("sha256sum") {
        eprintln!("skipped: GNU tar, truncate or sha256sum missing");
        return;
    }
    let dir = tempdir();
    let root = dir.join("tree");
    make_tree(&root);
    for (label, options) in FORMATS {
        let tar_path = dir.join("layer.tar");
        let layer = gnu_tar(&root, options, &tar_path);
        let want = extracted(&tar_path);
        assert_eq!(want.len(), 6, "{label}: tar -x extracts the six files: {want:?}");
        assert_eq!(want["holes/big.img"].0, 64 * MIB);

        // Every walk: the runtime's names, the logical sizes, regular files with their maps.
        let rows = walk_all_ways(&layer).unwrap_or_else(|e| panic!("{label}: {e}"));
        let listed: BTreeMap<String, (EntryKind, u64, bool)> = rows.into_iter().map(|(p, k, s, m)| (p, (k, s, m))).collect();
        let names: Vec<&String> = listed.keys().collect();
        let wanted: Vec<&String> = want.keys().collect();
        assert_eq!(names, wanted, "{label}: the names tar -x gives (no GNUSparseFile.NNN)");
        for (path, (size, _)) in &want {
            let (kind, listed_size, has_map) = listed[path];
            assert_eq!((kind, listed_size), (EntryKind::File, *size), "{label}: {path}");
            assert_eq!(has_map, path.starts_with("holes/"), "{label}: {path} is stored sparse exactly when GNU tar made it so");
        }

        // Python's tarfile (it reads all four) agrees on names and sizes.
        if let Some(py) = python_listing(&tar_path) {
            let py: BTreeMap<String, (u64, String)> = py.into_iter().filter(|(p, _)| want.contains_key(p)).collect();
            assert_eq!(py, want, "{label}: python's tarfile reads the same files and bytes");
        }

        // The CLI on an image with this layer.
        let archive = dir.join("image.tar");
        std::fs::write(&archive, image_of(&layer)).expect("write");
        let a = archive.to_str().expect("utf-8");
        let (code, out, err) = strata(&["ls", a, "-l", "-R", "--json"]);
        assert_eq!(code, Some(0), "{label}: ls: {err}");
        // Go's archive/tar keeps an old GNU entry's type `S`, which the unpackers of Docker,
        // containerd and podman refuse: strata shows the files as GNU tar unpacks them, and
        // says so (only for that format).
        let refused_by_runtimes = err.contains("unhandled tar header type 83");
        assert_eq!(refused_by_runtimes, *label == *"old GNU", "{label}: ls warns of the runtimes' refusal exactly for old GNU: {err}");
        let ls: serde_json::Value = serde_json::from_slice(&out).expect("json");
        let ls_rows = ls.as_array().expect("rows");
        for (path, (size, _)) in &want {
            let row = ls_rows.iter().find(|r| r["path"] == path.as_str()).unwrap_or_else(|| panic!("{label}: ls lists {path}"));
            assert_eq!((row["kind"].as_str(), row["size"].as_u64()), (Some("file"), Some(*size)), "{label}: ls -l {path}");
        }
        let (code, out, _) = strata(&["ls", a, "-l", "/holes"]);
        assert_eq!(code, Some(0));
        let text = String::from_utf8_lossy(&out);
        assert!(text.lines().any(|l| l.starts_with("-rw-r--r--") && l.contains("big.img")), "{label}: ls -l shows a regular file:\n{text}");
        for (path, (_, sha)) in &want {
            assert_eq!(&cat_sha256(&archive, &format!("/{path}")), sha, "{label}: strata cat /{path}");
        }

        // export: the merged rootfs, extracted by tar, has the same files and bytes.
        let rootfs = dir.join("rootfs.tar");
        let (code, _, err) = strata(&["export", a, "-o", rootfs.to_str().expect("utf-8")]);
        assert_eq!(code, Some(0), "{label}: export: {err}");
        assert_eq!(extracted(&rootfs), want, "{label}: strata export, extracted by tar");
        // export --layer writes the layer as stored: still GNU tar's sparse entries.
        let (code, _, err) = strata(&["export", a, "--layer", "0", "-o", rootfs.to_str().expect("utf-8")]);
        assert_eq!(code, Some(0), "{label}: export --layer: {err}");
        assert_eq!(extracted(&rootfs), want, "{label}: strata export --layer 0, extracted by tar");

        // The image verifies; its files' sizes are the logical ones in waste's total too.
        let (code, out, err) = strata(&["waste", a, "--json"]);
        assert_eq!(code, Some(0), "{label}: waste: {err}");
        let waste: serde_json::Value = serde_json::from_slice(&out).expect("json");
        let total: u64 = want.values().map(|(s, _)| s).sum();
        assert!(waste.to_string().contains(&total.to_string()), "{label}: waste counts {total} file bytes: {waste}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Python's tarfile: (name, (size, sha256)) of each regular file, names without `./`.
fn python_listing(tar: &Path) -> Option<BTreeMap<String, (u64, String)>> {
    if !common::has_binary("python3") {
        return None;
    }
    let script = "import tarfile,sys,hashlib\nt=tarfile.open(sys.argv[1])\nfor m in t.getmembers():\n  if m.isfile():\n    h=hashlib.sha256()\n    f=t.extractfile(m)\n    n=0\n    while True:\n      b=f.read(1<<20)\n      if not b: break\n      h.update(b); n+=len(b)\n    print(m.name, n, h.hexdigest())\n";
    let out = run(Command::new("python3").arg("-c").arg(script).arg(tar));
    Some(
        String::from_utf8(out)
            .expect("text")
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[0].trim_start_matches("./").to_string(), (f[1].parse().expect("size"), f[2].to_string()))
            })
            .collect(),
    )
}

/// The issue's own example: a 1 GiB file in PAX 1.0 listed as `GNUSparseFile.NNN/…` of a
/// few kB holding its raw map. Now: its own name, 1 GiB, and its bytes.
#[test]
fn a_one_gib_pax_1_0_file_is_one_gib_under_its_name() {
    if !common::has_binary("tar") || !common::has_binary("truncate") || !common::has_binary("sha256sum") {
        eprintln!("skipped: GNU tar, truncate or sha256sum missing");
        return;
    }
    let dir = tempdir();
    let root = dir.join("tree");
    std::fs::create_dir_all(&root).expect("mkdir");
    sparse_file(&root.join("disk.img"), 1 << 30, &[(512 * MIB, b"half way"), ((1 << 30) - 1, b"!")]);
    let tar_path = dir.join("layer.tar");
    let layer = gnu_tar(&root, &["--format=posix", "--sparse-version=1.0"], &tar_path);
    assert!(layer.len() < 64 * 1024, "GNU tar stores the holes as a map ({} bytes)", layer.len());
    let want = extracted(&tar_path);
    let rows = walk_all_ways(&layer).expect("readable");
    assert_eq!(rows, [("disk.img".to_string(), EntryKind::File, 1 << 30, true)]);
    let archive = dir.join("image.tar");
    std::fs::write(&archive, image_of(&layer)).expect("write");
    let (code, out, err) = strata(&["ls", archive.to_str().expect("utf-8"), "-l"]);
    assert_eq!(code, Some(0), "{err}");
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("disk.img") && !text.contains("GNUSparseFile"), "{text}");
    assert!(text.contains("1.07GB") || text.contains("1073741824"), "ls -l shows 1 GiB: {text}");
    assert_eq!(cat_sha256(&archive, "/disk.img"), want["disk.img"].1, "strata cat, streamed");
    std::fs::remove_dir_all(&dir).ok();
}

/// A GNU tar layer of one old-GNU sparse file with 40 fragments (two extension blocks).
fn old_gnu_layer(dir: &Path) -> Vec<u8> {
    let root = dir.join("tree");
    std::fs::create_dir_all(&root).expect("mkdir");
    let many: Vec<(u64, Vec<u8>)> = (0..40u64).map(|k| (k * 65536, vec![b'x'; 10])).collect();
    let many: Vec<(u64, &[u8])> = many.iter().map(|(o, b)| (*o, b.as_slice())).collect();
    sparse_file(&root.join("f"), 40 * 65536, &many);
    std::fs::write(root.join("g"), "next\n").expect("write");
    gnu_tar(&root, &["--format=gnu"], &dir.join("old.tar"))
}

/// The first header of `layer` that is GNU sparse (type `S`), by offset.
fn sparse_header_at(layer: &[u8]) -> usize {
    (0..layer.len()).step_by(512).find(|&at| layer[at + 156] == b'S' && &layer[at + 257..at + 263] == b"ustar ").expect("an S header")
}

fn put_octal(block: &mut [u8], at: usize, value: u64) {
    block[at..at + 12].copy_from_slice(format!("{value:011o}\0").as_bytes());
}

/// Damaged maps: what Go's archive/tar refuses is a coded finding naming the entry, in
/// every walk; nothing panics, and the CLI still opens the archive.
#[test]
fn damaged_maps_are_findings() {
    if !common::has_binary("tar") || !common::has_binary("truncate") {
        eprintln!("skipped: GNU tar or truncate missing");
        return;
    }
    let dir = tempdir();
    let layer = old_gnu_layer(&dir);
    assert_eq!(walk_all_ways(&layer).expect("readable").len(), 2);
    let at = sparse_header_at(&layer);
    let damaged = |change: &dyn Fn(&mut [u8; 512])| {
        let mut bytes = layer.clone();
        let mut h: [u8; 512] = bytes[at..at + 512].try_into().expect("block");
        change(&mut h);
        fixture::set_checksum(&mut h);
        bytes[at..at + 512].copy_from_slice(&h);
        bytes
    };
    // The second fragment starts before the first ends.
    let overlapping = damaged(&|h| put_octal(h, 386 + 24, 5));
    let err = walk_all_ways(&overlapping).expect_err("refused");
    assert!(err.starts_with("layer_sparse_map_refused") && err.contains("overlaps") && err.contains("f"), "{err}");
    // A real size smaller than the fragments reach.
    let err = walk_all_ways(&damaged(&|h| put_octal(h, 483, 1000))).expect_err("refused");
    assert!(err.contains("past the file's size"), "{err}");
    // A fragment length that is not octal.
    let err = walk_all_ways(&damaged(&|h| h[386 + 12..386 + 24].copy_from_slice(b"00000000009\0"))).expect_err("refused");
    assert!(err.contains("octal"), "{err}");
    // Stored bytes that are not the fragments' (Go fails the unpack: missing or unreferenced data).
    let err = walk_all_ways(&damaged(&|h| put_octal(h, 124, 10 * 40 + 512))).expect_err("refused");
    assert!(err.starts_with("layer_sparse_map_refused") || err.contains("cut"), "{err}");
    // Cut inside the extension blocks.
    let cut = &layer[..at + 512 + 100];
    assert!(walk_all_ways(cut).is_err());
    // The CLI: the archive opens, the layer says why, nothing panics.
    let archive = dir.join("image.tar");
    std::fs::write(&archive, image_of(&overlapping)).expect("write");
    let (code, out, err) = strata(&["inspect", archive.to_str().expect("utf-8"), "--json"]);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(String::from_utf8_lossy(&out).contains("layer_sparse_map_refused"), "the report names the code");
    std::fs::remove_dir_all(&dir).ok();
}

/// PAX maps written by hand: out of order, too many fragments, an unknown version (a plain
/// file, as in Go), a 0.0 map out of turn, a 1.0 map running past the data.
#[test]
fn pax_maps_as_go_reads_them() {
    let pax01 = |map: &str, blocks: &str, real: &str, data: &[u8]| {
        Entry::file("GNUSparseFile.1/f", data)
            .pax("GNU.sparse.major", b"0")
            .pax("GNU.sparse.minor", b"1")
            .pax("GNU.sparse.name", b"dir/f")
            .pax("GNU.sparse.realsize", real.as_bytes())
            .pax("GNU.sparse.numblocks", blocks.as_bytes())
            .pax("GNU.sparse.map", map.as_bytes())
    };
    let layer = |entries: &[Entry]| {
        let mut w = TarWriter::new();
        for e in entries {
            w.entry(e);
        }
        w.file("after", "x");
        w.finish()
    };
    let ok = walk_all_ways(&layer(&[pax01("2,3,10,2", "2", "20", b"abcde")])).expect("readable");
    assert_eq!(ok[0], ("dir/f".to_string(), EntryKind::File, 20, true));
    let err = walk_all_ways(&layer(&[pax01("10,2,2,3", "2", "20", b"abcde")])).expect_err("out of order");
    assert!(err.starts_with("layer_sparse_map_refused"), "{err}");
    let err = walk_all_ways(&layer(&[pax01("2,3,10,2", "3", "20", b"abcde")])).expect_err("count differs");
    assert!(err.contains("numblocks"), "{err}");
    // More fragments than strata holds for one file (Go's 1 MiB map limit holds as many).
    let n = strata::sparse::MAX_FRAGMENTS + 1;
    let big_map = (0..n).map(|k| format!("{k},0")).collect::<Vec<_>>().join(",");
    let err = walk_all_ways(&layer(&[pax01(&big_map, &n.to_string(), &n.to_string(), b"")])).expect_err("capped");
    assert!(err.contains("more than 262144 fragments"), "{err}");
    // An unknown version is not a sparse file to Go: a plain file under its PAX name.
    let unknown = Entry::file("GNUSparseFile.1/f", b"raw").pax("GNU.sparse.major", b"2").pax("GNU.sparse.minor", b"0");
    assert_eq!(walk_all_ways(&layer(&[unknown])).expect("plain")[0], ("GNUSparseFile.1/f".to_string(), EntryKind::File, 3, false));
    // 0.0: numbytes before offset makes the PAX header unreadable.
    let bad00 = Entry::file("f", b"ab").pax("GNU.sparse.size", b"4").pax("GNU.sparse.numblocks", b"1").pax("GNU.sparse.numbytes", b"2").pax("GNU.sparse.offset", b"0");
    assert!(walk_all_ways(&layer(&[bad00])).is_err());
    let good00 = Entry::file("f", b"ab").pax("GNU.sparse.size", b"4").pax("GNU.sparse.numblocks", b"1").pax("GNU.sparse.offset", b"2").pax("GNU.sparse.numbytes", b"2");
    assert_eq!(walk_all_ways(&layer(&[good00])).expect("0.0")[0], ("f".to_string(), EntryKind::File, 4, true));
    // 1.0 whose map says more numbers than the data holds.
    let mut data = b"3\n0\n1\n".to_vec();
    data.resize(512, 0);
    let past = Entry::file("GNUSparseFile.1/f", &data).pax("GNU.sparse.major", b"1").pax("GNU.sparse.minor", b"0").pax("GNU.sparse.name", b"f").pax("GNU.sparse.realsize", b"10");
    let err = walk_all_ways(&layer(&[past])).expect_err("refused");
    assert!(err.contains("runs past"), "{err}");
    // A sparse map on a symlink is a bad header to Go.
    let link = Entry::symlink("l", "t").pax("GNU.sparse.map", b"0,0").pax("GNU.sparse.numblocks", b"1");
    assert!(walk_all_ways(&layer(&[link])).is_err());
}

/// Many extension blocks: an old GNU map past the cap stops the walk before it is held.
#[test]
fn an_old_gnu_map_past_the_cap_is_refused() {
    let mut h = [0u8; 512];
    let e = Entry::file("huge", b"");
    h.copy_from_slice(&fixture::ustar_header(b"huge", b"", b'S', 0, &e).expect("header"));
    h[257..265].copy_from_slice(b"ustar  \0");
    put_octal(&mut h, 483, 1 << 32);
    h[482] = 1;
    fixture::set_checksum(&mut h);
    let mut w = TarWriter::new();
    w.raw(&h);
    // Extension blocks of 21 empty-length fragments each, far more than the cap.
    let blocks = strata::sparse::MAX_FRAGMENTS / 21 + 2;
    let mut ext = [0u8; 512];
    for i in 0..21 {
        put_octal(&mut ext, 24 * i, 0);
        put_octal(&mut ext, 24 * i + 12, 0);
    }
    ext[504] = 1;
    for _ in 0..blocks {
        w.raw(&ext);
    }
    let layer = w.finish();
    // (Not walk_all_ways: fed 700 bytes at a time, the chunk-fed walk re-reads this one
    // 6 MB entry from its start at every step.)
    let (_, problem) = index_stream(&mut &layer[..]);
    let err = problem.expect("refused").message.english();
    assert!(err.contains("more than 262144 fragments"), "{err}");
    assert!(Archive::quick_index_span(&mut Cursor::new(&layer), 0, layer.len() as u64).is_none(), "the seeking walk refuses it too");
    let mut ix = ChunkIndexer::new(layer.len() as u64);
    let mut need = ix.need();
    while let Need::At(at) = need {
        need = ix.feed(at, &layer[at as usize..]);
    }
    assert!(need != Need::Done || ix.finish().is_none(), "the chunk-fed walk does not accept it");
}
