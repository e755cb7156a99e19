//! The fuzzers' seed corpus, written from strata's own fixture builder into
//! `tests/fuzz/corpus/<target>/` (generated, git-ignored). `./build.sh fuzz` runs it:
//!
//! ```sh
//! cargo test --release --test fuzz_seeds -- --ignored
//! ```
//!
//! Archives of every format the fixtures write (small ones: libFuzzer mutates what it is
//! given, and a big seed slows every run), layer tars with GNU and PAX long names, PAX
//! records, compressed streams long enough to have access points, encoded indexes, parts
//! and facts, and byte programs for the merge target.

mod common;
#[path = "common/rpm_db_writer.rs"]
mod rpm_db_writer;

use common::*;
use std::path::{Path, PathBuf};
use strata::chunk_index::ChunkIndexer;
use strata::fixture::{self, Entry, ImageSpec, Kind, LayerSpec, LongNames, Options, TarWriter};
use strata::report::Compression;

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus dir");
    dir
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

/// Archives bigger than this are left out of the archive corpus.
const MAX_ARCHIVE_SEED: usize = 96 << 10;

/// Every layer spec the fixtures use, plus odd ones.
fn layer_specs() -> Vec<(String, LayerSpec)> {
    let mut specs: Vec<(String, LayerSpec)> = Vec::new();
    let mut images = vec![fixture::web_v1(), fixture::web_v2(), odd_names_image(), mixed_compression_image(), kaniko_image(), repeated_layer_image()];
    images.extend(fixture::sample_specs());
    for (i, img) in images.iter().enumerate() {
        for (k, layer) in img.layers.iter().enumerate() {
            specs.push((format!("img{i}-layer{k}"), layer.clone()));
        }
    }
    let long = "deep/".repeat(30);
    let odd = LayerSpec::new()
        .entry(Entry::file("etc/passwd", "harmless\n").pax("path", "tmp/x\ny"))
        .entry(Entry::symlink("link", "target").pax("linkpath", "a\nb"))
        .entry(Entry::file("sized", vec![7u8; 1500]).pax("size", "1500").pax("uid", "-5").pax("mtime", "1350244992.5"))
        .file(format!("{long}pax.txt"), "x")
        .dir("d")
        .hardlink("d/h", "sized")
        .entry(Entry::new("dev", Kind::Char { major: 1, minor: 3 }))
        .entry(Entry::new("fifo", Kind::Fifo))
        .pax_names();
    specs.push(("pax-odd".into(), odd));
    let mut no_end = LayerSpec::new().file("a", "a").file("b", vec![1u8; 700]);
    no_end.no_end_marker = true;
    specs.push(("no-end-marker".into(), no_end));
    let mut trailing = LayerSpec::new().file("a", "a");
    trailing.trailing = b"trailing garbage after the end marker".to_vec();
    specs.push(("trailing".into(), trailing));
    specs
}

fn layer_tars() -> Vec<(String, Vec<u8>)> {
    let mut tars: Vec<(String, Vec<u8>)> = layer_specs().into_iter().map(|(n, s)| (n, s.tar())).collect();
    // Extension records before one entry, a global header, a GNU sparse entry.
    let mut t = TarWriter::with_long_names(LongNames::Gnu);
    let mut global = Entry::new("pax_global_header", Kind::Other(b'g'));
    global.data = b"13 comment=x\n".to_vec();
    t.entry(&global);
    t.entry(&Entry::file(format!("{}long", "x/".repeat(70)), "gnu"));
    t.entry(&Entry::symlink("s", "y/".repeat(70)));
    let mut sparse = Entry::new("sparse", Kind::Other(b'S'));
    sparse.data = vec![3u8; 512];
    t.entry(&sparse);
    t.file("after", "z");
    tars.push(("extensions".into(), t.finish()));
    // GNU sparse files in PAX 0.0, 0.1 and 1.0 (src/sparse.rs).
    let mut t = TarWriter::new();
    let pax_sparse = |e: Entry, pairs: &[(&str, &str)]| pairs.iter().fold(e, |e, (k, v)| e.pax(k, v.as_bytes()));
    t.entry(&pax_sparse(Entry::file("s00", "ab"), &[("GNU.sparse.size", "9"), ("GNU.sparse.numblocks", "1"), ("GNU.sparse.offset", "4"), ("GNU.sparse.numbytes", "2")]));
    t.entry(&pax_sparse(
        Entry::file("GNUSparseFile.1/s01", "abcde"),
        &[("GNU.sparse.major", "0"), ("GNU.sparse.minor", "1"), ("GNU.sparse.name", "s01"), ("GNU.sparse.realsize", "20"), ("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "2,3,10,2")],
    ));
    let mut map10 = b"2\n0\n3\n600\n2\n".to_vec();
    map10.resize(512, 0);
    map10.extend_from_slice(b"abcde");
    t.entry(&pax_sparse(
        Entry::file("GNUSparseFile.1/s10", map10),
        &[("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", "s10"), ("GNU.sparse.realsize", "1000")],
    ));
    t.file("after", "z");
    tars.push(("sparse-pax".into(), t.finish()));
    tars.push(("empty".into(), Vec::new()));
    tars
}

#[test]
#[ignore = "writes the fuzz seed corpus (./build.sh fuzz runs it)"]
fn write_fuzz_seeds() {
    // archive: whole archives of every format (and whole-archive compressed).
    let dir = corpus("archive");
    let mut n = 0;
    for (name, fx, _) in all_fixtures() {
        if fx.bytes.len() <= MAX_ARCHIVE_SEED {
            write(&dir, name, &fx.bytes);
            n += 1;
        }
    }
    let small = ImageSpec::new(&["tiny:1"]).layer(LayerSpec::new().file("a", "a").whiteout("b"), "ADD a");
    let gz = ImageSpec::new(&["tiny:gz"]).layer(LayerSpec::new().file("a", "a").compressed(Compression::Gzip), "ADD a");
    for (name, bytes) in [
        ("tiny-legacy", fixture::docker_legacy(std::slice::from_ref(&small), &Options::default()).bytes),
        ("tiny-oci", fixture::oci_archive(std::slice::from_ref(&small), &Options::default(), false).bytes),
        ("tiny-docker-oci-gz-layer", fixture::docker_oci(&[gz], &Options::default()).bytes),
        ("tiny-docker-archive", fixture::docker_archive(&[small], &Options::default()).bytes),
    ] {
        write(&dir, name, &bytes);
        n += 1;
    }
    eprintln!("archive: {n} seeds");

    // layer_walks: uncompressed layer tars.
    let dir = corpus("layer_walks");
    let tars = layer_tars();
    for (name, tar) in &tars {
        write(&dir, name, tar);
    }
    eprintln!("layer_walks: {} seeds", tars.len());

    // pax: the records of PAX headers.
    let dir = corpus("pax");
    let record = strata::fixture::pax_record;
    let seeds: Vec<Vec<u8>> = vec![
        record("path", b"tmp/x\ny"),
        [record("path", b"a"), record("linkpath", b"b"), record("size", b"12")].concat(),
        [record("uid", b"1000"), record("gid", b"-5"), record("mtime", b"1350244992.023960108")].concat(),
        [record("comment", b"x\0y"), record("path", b"")].concat(),
        record("GNU.sparse.map", b"0,1,2,3"),
        [record("GNU.sparse.offset", b"0"), record("GNU.sparse.numbytes", b"1"), record("GNU.sparse.offset", b"5"), record("GNU.sparse.numbytes", b"2")].concat(),
        [record("GNU.sparse.major", b"1"), record("GNU.sparse.minor", b"0"), record("GNU.sparse.name", b"f"), record("GNU.sparse.realsize", b"99")].concat(),
        record("SCHILY.xattr.user.x", b"v"),
    ];
    for (i, s) in seeds.iter().enumerate() {
        write(&dir, &format!("{i}"), s);
    }

    // decompress: compressed layers, small and long enough to have access points.
    let dir = corpus("decompress");
    let mut m = 0;
    for (name, tar) in tars.iter().take(12) {
        for c in [Compression::Gzip, Compression::Zstd, Compression::Xz] {
            write(&dir, &format!("{name}.{}", c.as_str()), &fixture::compress(tar, c));
            m += 1;
        }
    }
    // 5 MiB of near-zeros: a few KiB of gzip with access points (every 2 MiB).
    let mut big = vec![0u8; 5 << 20];
    for (i, b) in big.iter_mut().enumerate().step_by(4099) {
        *b = (i % 251) as u8;
    }
    write(&dir, "big.gz", &fixture::compress(&big, Compression::Gzip));
    write(&dir, "big.gnu.gz", &fixture::pipe_through(&["gzip", "-c", "-9"], &big));
    // zstd:chunked's shape: many frames and skippable frames (frame starts are access points).
    let chunked = LayerSpec::new().file("f", "0123456789abcdef".repeat(40_000)).compressed_by(Compression::Zstd, fixture::ZSTD_CHUNKED_SHAPE).build();
    write(&dir, "chunked.zst", &chunked.stored);
    let mut two = fixture::compress(&tars[0].1, Compression::Gzip);
    two.extend(fixture::compress(&tars[1].1, Compression::Gzip));
    write(&dir, "two-members.gz", &two);
    eprintln!("decompress: {} seeds", m + 4);

    // codec: encoded indexes, parts and facts.
    let dir = corpus("codec");
    for (name, tar) in tars.iter().take(10) {
        let (ix, _) = strata::layer::index_stream(&mut tar.as_slice());
        write(&dir, &format!("{name}.index"), &strata::codec::encode_index(&ix));
        let mut part = ChunkIndexer::part(tar.len() as u64, 0, None, Some(tar.len() as u64 / 2));
        if let strata::chunk_index::Need::At(_) = part.need() {
            part.feed(0, tar);
        }
        if let Some(p) = part.finish_part() {
            write(&dir, &format!("{name}.part"), &strata::codec::encode_part(&p));
        }
        let facts = strata::Archive::analyze_blob(&mut fixture::compress(tar, Compression::Gzip).as_slice());
        write(&dir, &format!("{name}.facts"), &strata::codec::encode_facts(&facts));
    }
    let facts = strata::Archive::analyze_blob(&mut chunked.stored.as_slice());
    write(&dir, "chunked.facts", &strata::codec::encode_facts(&facts));

    // merge: byte programs (see checks::made_layers).
    let dir = corpus("merge");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..24 {
        let bytes: Vec<u8> = (0..64 + i * 24)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        write(&dir, &format!("{i}"), &bytes);
    }

    package_seeds();
}

/// packages: one small file of each database and manifest the package readers read (the
/// target hands every input to every reader). rpm's Berkeley DB and SQLite databases are
/// written by `db5.3_load` and `sqlite3` when installed; NDB from the format.
fn package_seeds() {
    let dir = corpus("packages");
    write(&dir, "dpkg-status", b"Package: a\nStatus: install ok installed\nVersion: 1:2.3-4\nArchitecture: amd64\nSource: s (1)\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n");
    write(&dir, "dpkg-list", b"/.\n/usr\n/usr/lib/python3/dist-packages/x-1.dist-info\n/usr/lib/python3/dist-packages/x-1.dist-info/METADATA\n");
    write(&dir, "apk-installed", b"C:Q1abc=\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\n\nP:musl\nV:1.2.4-r2\n\n");
    write(&dir, "python-metadata", b"Metadata-Version: 2.1\nName: tiny_pkg\nVersion: 0.3.1\nLicense-Expression: MIT\n\nbody\n");
    write(&dir, "npm-package-json", br#"{"name":"@scope/x","version":"1.2.3","license":{"type":"MIT"},"licenses":[{"type":"BSD"}]}"#);
    write(&dir, "os-release", b"ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian GNU/Linux 12 (bookworm)'\n# c\n");
    let headers: Vec<(u32, Vec<u8>)> = (1..=6).map(|i| (i, rpm_db_writer::header(&format!("p{i}"), (i % 2 == 0).then_some(i), "1.0", "1", if i == 3 { 3000 } else { 0 }))).collect();
    write(&dir, "rpm-ndb", &rpm_db_writer::ndb(&headers, 1));
    let work = std::env::temp_dir().join(format!("strata-package-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    for (name, page, big_endian) in [("rpm-bdb-le", 512, false), ("rpm-bdb-be", 512, true)] {
        let input = work.join("dump.txt");
        std::fs::write(&input, rpm_db_writer::db_load_input(&headers, page, big_endian)).unwrap();
        let out = work.join(name);
        let lorder = if big_endian { "db_lorder=4321" } else { "db_lorder=1234" };
        match std::process::Command::new("db5.3_load").args(["-c", lorder, "-f"]).arg(&input).arg(&out).status() {
            Ok(s) if s.success() => write(&dir, name, &std::fs::read(&out).unwrap()),
            _ => eprintln!("packages: no Berkeley DB seed (db5.3_load not installed)"),
        }
    }
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let rows: Vec<String> = headers.iter().map(|(n, h)| format!("({n}, x'{}')", hex(h))).collect();
    let sql = format!("PRAGMA page_size=512; CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL); INSERT INTO Packages VALUES {};", rows.join(","));
    let db = work.join("rpmdb.sqlite");
    match std::process::Command::new("sqlite3").arg(&db).arg(sql).status() {
        Ok(s) if s.success() => write(&dir, "rpm-sqlite", &std::fs::read(&db).unwrap()),
        _ => eprintln!("packages: no SQLite seed (sqlite3 not installed)"),
    }
    let jar = work.join("x.jar");
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    z.writestr('META-INF/maven/g/a/pom.properties', 'groupId=g\\nartifactId=a\\nversion=1.0\\n')\n    z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\\n')\n";
    match std::process::Command::new("python3").arg("-c").arg(script).arg(&jar).status() {
        Ok(s) if s.success() => write(&dir, "jar", &std::fs::read(&jar).unwrap()),
        _ => eprintln!("packages: no jar seed (python3 not installed)"),
    }
    if let Ok(elf) = std::fs::read("/bin/true") {
        write(&dir, "elf", &elf);
    }
    let _ = std::fs::remove_dir_all(&work);
    eprintln!("packages: seeds in {}", dir.display());
}
