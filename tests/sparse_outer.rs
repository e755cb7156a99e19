//! A sparse entry in the OUTER archive: a `docker save` directory packed again with GNU
//! `tar --sparse`, which stores a mostly-zero layer blob as its data fragments and a map.
//! `docker load` reads the outer tar with Go's archive/tar, which expands such an entry
//! (holes read as zeros), so what strata shows must be the expanded file.
//!
//! Before: strata took the stored bytes (the map and the packed fragments) for the blob, so
//! the sizes ran past the file ("truncated") or the digests were wrong. Here archives written
//! by strata's fixture builder (a layer holding a big file of zeros with data around it, so
//! the layer tar is mostly zero) are extracted, the layer files made sparse on disk, and
//! packed again by GNU tar in every sparse format (`--format=posix --sparse-version=
//! 0.0|0.1|1.0`, `--format=gnu`), and plainly; then `strata inspect --json`, `ls -l -R`,
//! `cat`, `export` (merged and `--layer`) must agree between the sparse and the plain
//! packing, both verified; also gzip'd, and through the library (the headers-only index
//! walks the sparse layer through its holes; a sparse blob has no span for helpers).
//! Old GNU (type `S`): Go keeps the type and `docker load` refuses the archive ("unhandled
//! tar header type 83"): strata reads it expanded, as GNU tar does, with an error finding.

mod common;

use common::run;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::fixture::{self, ImageSpec, LayerSpec, Options};
use strata::Archive;

const MIB: usize = 1 << 20;

/// GNU tar's sparse formats: (label, tar options).
const FORMATS: [(&str, &[&str]); 4] = [
    ("PAX 1.0", &["--format=posix", "--sparse-version=1.0"]),
    ("PAX 0.1", &["--format=posix", "--sparse-version=0.1"]),
    ("PAX 0.0", &["--format=posix", "--sparse-version=0.0"]),
    ("old GNU", &["--format=gnu"]),
];

fn tempdir() -> PathBuf {
    common::tempdir("sparse-outer")
}

fn strata(args: &[&str]) -> Vec<u8> {
    run(Command::new(env!("CARGO_BIN_EXE_strata")).args(args))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The big file of the bottom layer: data at its start, in the middle and at its end,
/// zeros between (so its layer tar is mostly zero, and `tar --sparse` stores holes).
fn big_file() -> Vec<u8> {
    let mut data = vec![0u8; 12 * MIB + 3];
    data[..4].copy_from_slice(b"HEAD");
    data[7 * MIB + 11..7 * MIB + 17].copy_from_slice(b"MIDDLE");
    let end = data.len();
    data[end - 4..].copy_from_slice(b"TAIL");
    data
}

fn images() -> Vec<ImageSpec> {
    let bottom = LayerSpec::new()
        .dir("etc")
        .file("etc/os-release", "NAME=sparse\n")
        .dir("data")
        .file("data/big.img", big_file())
        .file("data/small.txt", "small\n");
    let top = LayerSpec::new().file("etc/os-release", "NAME=sparse\nVERSION=2\n").whiteout("data/small.txt");
    vec![ImageSpec::new(&["sparse:outer"])
        .layer(bottom, "/bin/sh -c #(nop) ADD big.img /data/")
        .layer(top, "/bin/sh -c echo VERSION=2 >> /etc/os-release")]
}

/// The fixture archive unpacked into a directory whose layer files are sparse on disk
/// (`cp --sparse=always` digs the zero runs into holes; `tar --sparse` finds them).
fn unpacked(archive: &[u8]) -> PathBuf {
    let dir = tempdir();
    let tar = dir.join("fixture.tar");
    std::fs::write(&tar, archive).expect("write");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).expect("mkdir");
    run(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(&root));
    let mut made_sparse = 0;
    for path in files_under(&root) {
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        if meta.is_file() && meta.len() > MIB as u64 {
            let copy = path.with_extension("sparse-copy");
            run(Command::new("cp").arg("--sparse=always").arg(&path).arg(&copy));
            std::fs::rename(&copy, &path).expect("rename");
            made_sparse += 1;
        }
    }
    assert!(made_sparse >= 1, "the fixture has a big layer file");
    root
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        if e.file_type().expect("type").is_dir() {
            out.extend(files_under(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

/// `root` packed by GNU tar with `options` (and `--sparse` when `sparse`).
fn pack(root: &Path, sparse: bool, options: &[&str], out: &Path) {
    common::gnu_tar_pack(root, sparse, options, out)
}

/// Whether GNU tar stored a sparse entry in `tar` (its verbose listing marks none, so read
/// the headers: type `S`, or a `GNU.sparse` PAX record).
fn has_sparse_entry(tar: &[u8]) -> bool {
    let mut at = 0;
    while at + 512 <= tar.len() {
        let header = &tar[at..at + 512];
        if header.iter().all(|&b| b == 0) {
            return false;
        }
        let size_field = std::str::from_utf8(&header[124..136]).unwrap_or("0").trim_matches(|c: char| c == '\0' || c == ' ');
        let size = u64::from_str_radix(size_field, 8).unwrap_or(0) as usize;
        let data = &tar[at + 512..(at + 512 + size).min(tar.len())];
        if header[156] == b'S' || (header[156] == b'x' && data.windows(10).any(|w| w == b"GNU.sparse")) {
            return true;
        }
        // (an old GNU sparse header's extension blocks are not walked: `S` returned above)
        at += 512 + size.div_ceil(512) * 512;
    }
    false
}

/// What the CLI shows of an archive: the images of `inspect --json` (the archive's own
/// size and entry count aside), the findings' codes, `ls -l -R /`, `cat` of the big file,
/// the merged export and each layer's export.
#[derive(Debug, PartialEq)]
struct Shown {
    images: serde_json::Value,
    finding_codes: Vec<String>,
    listing: String,
    big_file: String,
    export: String,
    layer_exports: Vec<String>,
}

fn shown(archive: &Path) -> Shown {
    let a = archive.to_str().expect("utf-8 path");
    // (`inspect` exits 1 when the report has an error finding; its JSON is all there)
    let inspect = Command::new(env!("CARGO_BIN_EXE_strata")).args(["inspect", "--json", a]).output().expect("inspect");
    assert!(matches!(inspect.status.code(), Some(0 | 1)), "inspect {a}: {}", String::from_utf8_lossy(&inspect.stderr));
    let report: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("json");
    let images = report["images"].clone();
    let finding_codes = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect();
    let listing = String::from_utf8(strata(&["ls", "-l", "-R", a, "/"])).expect("utf-8");
    let big_file = sha256_hex(&strata(&["cat", a, "/data/big.img"]));
    let out = archive.with_extension("export.tar");
    let o = out.to_str().expect("utf-8 path");
    strata(&["export", a, "-o", o]);
    let export = sha256_hex(&std::fs::read(&out).expect("export"));
    let mut layer_exports = Vec::new();
    for layer in ["0", "1"] {
        strata(&["export", a, "--layer", layer, "-o", o]);
        layer_exports.push(sha256_hex(&std::fs::read(&out).expect("export")));
    }
    Shown { images, finding_codes, listing, big_file, export, layer_exports }
}

fn assert_verified(shown: &Shown, label: &str) {
    for image in shown.images.as_array().expect("images") {
        assert_eq!(image["verified"], true, "{label}: {image:#}");
    }
}

/// Each archive layout whose blobs GNU tar stores sparsely: root `<diff_id>.tar` layers
/// (docker save) and `blobs/sha256/<hex>` (docker 25+ / OCI).
fn layouts() -> Vec<(&'static str, Vec<u8>)> {
    let specs = images();
    vec![
        ("docker-archive", fixture::docker_archive(&specs, &Options::default()).bytes),
        ("docker-oci", fixture::docker_oci(&specs, &Options::default()).bytes),
    ]
}

#[test]
fn cli_shows_a_sparse_outer_archive_as_its_plain_packing() {
    for (layout, bytes) in layouts() {
        let root = unpacked(&bytes);
        let dir = root.parent().expect("dir").to_path_buf();
        let plain = dir.join("plain.tar");
        pack(&root, false, &["--format=posix"], &plain);
        assert!(!has_sparse_entry(&std::fs::read(&plain).expect("read")), "{layout}: the plain packing stores no sparse entry");
        let expected = shown(&plain);
        assert_verified(&expected, layout);
        assert_eq!(expected.big_file, sha256_hex(&big_file()), "{layout}: the big file as built");
        for (format, options) in FORMATS {
            let label = format!("{layout}, {format}");
            let sparse = dir.join(format!("sparse-{}.tar", format.replace(' ', "-")));
            pack(&root, true, options, &sparse);
            let stored = std::fs::read(&sparse).expect("read");
            assert!(has_sparse_entry(&stored), "{label}: GNU tar stored the layer sparsely");
            assert!(stored.len() < bytes.len() / 2, "{label}: the holes are not stored ({} of {} bytes)", stored.len(), bytes.len());
            let got = shown(&sparse);
            let mut want = Shown { finding_codes: expected.finding_codes.clone(), ..shown(&plain) };
            if format == "old GNU" {
                // docker load refuses a type `S` entry: strata says so, and shows the rest.
                assert!(got.finding_codes.iter().any(|c| c == "outer_old_gnu_sparse"), "{label}: {:?}", got.finding_codes);
                want.finding_codes.push("outer_old_gnu_sparse".into());
                want.finding_codes.sort();
                let mut codes = got.finding_codes.clone();
                codes.sort();
                assert_eq!(codes, want.finding_codes, "{label}");
                assert_eq!(Shown { finding_codes: want.finding_codes.clone(), ..got }, want, "{label}");
            } else {
                assert_eq!(got, want, "{label}");
            }
            // gzip'd: the streaming scan expands it as it passes.
            if format == "PAX 1.0" || format == "old GNU" {
                let gz = sparse.with_extension("tar.gz");
                std::fs::write(&gz, run(Command::new("gzip").arg("-c").arg(&sparse))).expect("write");
                let got = shown(&gz);
                assert_eq!(got.images, want.images, "{label}, gzip'd");
                assert_eq!((&got.listing, &got.big_file, &got.export, &got.layer_exports), (&want.listing, &want.big_file, &want.export, &want.layer_exports), "{label}, gzip'd");
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// The library: the headers-only index walks the sparse layer through its holes (so the tree
/// is there before anything is hashed), the sparse blob has no span (the page's helpers and
/// the CLI's threads read spans), verification hashes the expanded bytes, and a gzip'd
/// archive's pass sends the expanded bytes to be hashed elsewhere.
#[test]
fn library_reads_a_sparse_blob_expanded() {
    let (_, bytes) = layouts().remove(1);
    let root = unpacked(&bytes);
    let dir = root.parent().expect("dir").to_path_buf();
    let plain_path = dir.join("plain.tar");
    pack(&root, false, &["--format=posix"], &plain_path);
    let sparse_path = dir.join("sparse.tar");
    pack(&root, true, &["--format=posix", "--sparse-version=1.0"], &sparse_path);
    let open = |bytes: Vec<u8>| {
        let mut src = std::io::Cursor::new(bytes);
        let archive = Archive::open(&mut src, &mut |_| {}).expect("open");
        (archive, src)
    };
    let (mut plain, mut plain_src) = open(std::fs::read(&plain_path).expect("read"));
    let (mut sparse, mut sparse_src) = open(std::fs::read(&sparse_path).expect("read"));

    let sparse_blobs: Vec<usize> = (0..sparse.blob_count()).filter(|&b| sparse.blob_span(b).is_none()).collect();
    assert_eq!(sparse_blobs.len(), 1, "one blob (the big layer) is stored sparsely");
    let big = sparse_blobs[0];
    // Already indexed when opened (no helper can walk it), headers only: nothing verified.
    assert!(!sparse.report().verification_done);
    plain.index_layers(&mut plain_src, &mut |_| {}).expect("index");
    sparse.index_layers(&mut sparse_src, &mut |_| {}).expect("index");
    assert!(sparse.unindexed_layer_blobs().is_empty());
    let rows = |a: &Archive, b: usize| -> Vec<(Vec<u8>, u64, u64)> {
        a.layer_index(b).expect("indexed").entries.iter().map(|e| (e.path.to_vec(), e.size, e.data_offset)).collect()
    };
    assert_eq!(rows(&sparse, big), rows(&plain, big));
    // A file read by seeking into the layer, from a byte in a hole and one in the data.
    let entry = sparse.layer_index(big).expect("indexed").entries.iter().find(|e| &*e.path == b"data/big.img").expect("big.img").clone();
    for from in [0u64, 5, 3 * MIB as u64, 7 * MIB as u64 + 13] {
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut sparse.read_entry_from(&mut sparse_src, big, &entry, from).expect("read"), &mut got).expect("read");
        assert_eq!(got, &big_file()[from as usize..], "from {from}");
    }

    plain.verify(&mut plain_src, &mut |_| {}).expect("verify");
    sparse.verify(&mut sparse_src, &mut |_| {}).expect("verify");
    assert!(sparse.report().images.iter().all(|i| i.verified), "{:#?}", sparse.report().images);
    let layers = |a: &Archive| -> Vec<(Option<String>, Option<String>, Option<u64>)> {
        a.report().images[0].layers.iter().map(|l| (l.digest.clone(), l.diff_id.clone(), l.stored_size)).collect()
    };
    assert_eq!(layers(&sparse), layers(&plain));

    // gzip'd, its big entries hashed elsewhere (as the page's WebCrypto does).
    let gz = run(Command::new("gzip").arg("-c").arg(&sparse_path));
    let mut sent: std::collections::BTreeMap<usize, (u64, Sha256, u64)> = Default::default();
    let mut send = |entry: usize, size: u64, offset: u64, piece: &[u8]| {
        let (_, hasher, got) = sent.entry(entry).or_insert_with(|| (size, Sha256::new(), 0));
        assert_eq!(offset, *got, "pieces come in order");
        hasher.update(piece);
        *got += piece.len() as u64;
    };
    let mut elsewhere = strata::archive::HashElsewhere { min: MIB as u64, max: u64::MAX, send: &mut send };
    let mut src = std::io::Cursor::new(gz);
    let mut archive = Archive::open_hashing_elsewhere(&mut src, &mut |_| {}, Some(&mut elsewhere)).expect("open");
    assert!(!sent.is_empty(), "the big layer went elsewhere");
    for (entry, (size, hasher, got)) in sent {
        assert_eq!(got, size, "the expanded bytes were sent, all of them");
        let digest = format!("sha256:{}", hasher.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>());
        assert!(archive.set_entry_digest(entry, &digest));
    }
    assert!(archive.report().verification_done);
    assert!(archive.report().images.iter().all(|i| i.verified), "{:#?}", archive.report().images);
    assert_eq!(layers(&archive), layers(&plain));
    std::fs::remove_dir_all(&dir).ok();
}

/// A map Go refuses (here PAX 0.1's `GNU.sparse.numblocks` disagreeing with its map) stops the
/// outer read at that entry, naming it, as Go's reader returns ErrHeader there: an error,
/// never a blob of other bytes, never a panic.
#[test]
fn a_refused_outer_map_is_an_error_naming_the_entry() {
    let (_, bytes) = layouts().remove(0);
    let root = unpacked(&bytes);
    let dir = root.parent().expect("dir").to_path_buf();
    let path = dir.join("sparse-0.1.tar");
    pack(&root, true, &["--format=posix", "--sparse-version=0.1"], &path);
    let mut tar = std::fs::read(&path).expect("read");
    let key = b"GNU.sparse.numblocks=";
    let at = tar.windows(key.len()).position(|w| w == key).expect("a PAX 0.1 map") + key.len();
    // One more block than the map holds (same number of digits, so the record keeps its length).
    let digit = tar[at];
    assert!(digit.is_ascii_digit() && digit < b'9');
    tar[at] = digit + 1;
    let error = Archive::open(&mut std::io::Cursor::new(tar), &mut |_| {}).expect_err("refused");
    let text = error.to_string();
    assert!(text.contains(".tar") && text.contains("numblocks"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
