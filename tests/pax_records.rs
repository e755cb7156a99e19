//! PAX records are read the way the container runtimes read them (issue 20, finding 1).
//!
//! tar-rs splits PAX data at newlines, so a `path` record holding a newline used to fail
//! to parse and strata fell back to the ustar name: a layer could show a harmless
//! `/etc/passwd` while Docker, containerd, podman (Go's archive/tar), umoci, GNU tar and
//! Python's tarfile unpack the file under its PAX path — and the evil `/etc/passwd` of the
//! layer below stays what the container gets. Every tar walk is checked here: the
//! streaming walk, the seeking walk, the chunk-fed index, the outer archive scan, and
//! the merged result through the CLI; Python's tarfile is the outside reference.

mod common;

use std::io::Cursor;
use std::process::Command;
use strata::chunk_index::{ChunkIndexer, Need};
use strata::fixture::{self, Entry, ImageSpec, LayerSpec, Options, OuterTar, TarWriter};
use strata::layer::{index_stream, LayerIndex};
use strata::Archive;

fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut w = TarWriter::new();
    for e in entries {
        w.entry(e);
    }
    w.finish()
}

/// The entries' (path, link) by every layer walk, which must agree; Err if any refused.
fn walk_all_ways(layer: &[u8]) -> Result<Vec<(Vec<u8>, Option<Vec<u8>>)>, String> {
    let names = |ix: &LayerIndex| ix.entries.iter().map(|e| (e.path.to_vec(), e.link.as_ref().map(|l| l.to_vec()))).collect::<Vec<_>>();
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
            Err(p.message.english())
        }
        None => {
            let want = names(&streamed);
            assert_eq!(seeked.as_ref().map(names), Some(want.clone()), "seeking walk");
            assert_eq!(fed.as_ref().map(names), Some(want.clone()), "chunk-fed walk");
            Ok(want)
        }
    }
}

/// What Python's tarfile (an independent reader) lists: (name, linkname).
fn python_names(layer: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    if !common::has_binary("python3") {
        return None;
    }
    let dir = tempdir();
    let file = dir.join("layer.tar");
    std::fs::write(&file, layer).expect("write");
    let script = "import tarfile,sys\nfor m in tarfile.open(sys.argv[1], encoding='utf-8', errors='surrogateescape'):\n  sys.stdout.buffer.write(m.name.encode('utf-8','surrogateescape').hex().encode()+b' '+m.linkname.encode('utf-8','surrogateescape').hex().encode()+b'\\n')\n";
    let out = Command::new("python3").arg("-c").arg(script).arg(&file).output().expect("python3");
    assert!(out.status.success(), "python3: {}", String::from_utf8_lossy(&out.stderr));
    let unhex = |s: &str| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect::<Vec<u8>>();
    Some(
        String::from_utf8(out.stdout)
            .expect("ascii")
            .lines()
            .map(|l| {
                let (n, k) = l.split_once(' ').expect("two fields");
                (unhex(n), unhex(k))
            })
            .collect(),
    )
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-pax-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("tempdir");
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn a_pax_path_with_a_newline_is_the_path_in_every_walk() {
    let layer = layer_tar(&[Entry::file("etc/passwd", "harmless\n").pax("path", b"tmp/x\ny")]);
    let names = walk_all_ways(&layer).expect("readable");
    assert_eq!(names, [(b"tmp/x\ny".to_vec(), None)]);
    if let Some(py) = python_names(&layer) {
        assert_eq!(py, [(b"tmp/x\ny".to_vec(), Vec::new())], "python's tarfile agrees");
    }
}

#[test]
fn a_pax_linkpath_with_a_newline_is_the_target() {
    let layer = layer_tar(&[Entry::symlink("etc/motd", "harmless").pax("linkpath", b"../etc/shadow\nx")]);
    let names = walk_all_ways(&layer).expect("readable");
    assert_eq!(names, [(b"etc/motd".to_vec(), Some(b"../etc/shadow\nx".to_vec()))]);
    if let Some(py) = python_names(&layer) {
        assert_eq!(py, [(b"etc/motd".to_vec(), b"../etc/shadow\nx".to_vec())]);
    }
}

#[test]
fn a_record_hidden_inside_another_value_is_not_a_record() {
    // Split at newlines, this comment's value looks like a `path` record of its own.
    let fake = b"x\n20 path=etc/passwd\n".to_vec();
    let layer = layer_tar(&[Entry::file("harmless", "data").pax("comment", &fake)]);
    assert_eq!(walk_all_ways(&layer).expect("readable"), [(b"harmless".to_vec(), None)]);
    if let Some(py) = python_names(&layer) {
        assert_eq!(py, [(b"harmless".to_vec(), Vec::new())]);
    }
}

#[test]
fn a_nul_in_a_pax_path_or_linkpath_is_refused_naming_the_entry() {
    for (key, entry) in [("path", Entry::file("etc/passwd", "x")), ("linkpath", Entry::symlink("etc/l", "t"))] {
        let layer = layer_tar(&[Entry::file("first", "ok"), entry.pax(key, b"etc/\0shadow")]);
        let err = walk_all_ways(&layer).expect_err("refused, as Go's archive/tar refuses it");
        assert!(err.contains(key) && err.contains("NUL"), "{err}");
        assert!(err.contains("etc/"), "names the entry: {err}");
    }
}

#[test]
fn a_size_record_tar_rs_would_misread_stops_the_walk() {
    // tar-rs gives up on every record after one it cannot split, so it would read this
    // entry with the header's size (0) while the runtimes read 4 bytes of data — and from
    // there every header the two find differs. strata stops with an error instead.
    let mut e = Entry::file("a", "").pax("path", b"a\nb").pax("size", b"4");
    e.data = Vec::new();
    let mut w = TarWriter::new();
    w.entry(&e);
    w.raw(&[b'X'; 512]); // the 4 bytes of data the runtimes read, padded
    w.file("next", "n");
    let layer = w.finish();
    let err = walk_all_ways(&layer).expect_err("refused");
    assert!(err.contains("size"), "{err}");
}

#[test]
fn a_gnu_long_name_ends_at_its_first_nul() {
    // Go's archive/tar (and so every runtime) cuts a GNU long name at its first NUL.
    let long = format!("{}/file\0hidden-tail", "d".repeat(120));
    let layer = layer_tar(&[Entry::file(long.as_bytes(), "x")]);
    let names = walk_all_ways(&layer).expect("readable");
    assert_eq!(names, [(format!("{}/file", "d".repeat(120)).into_bytes(), None)]);
}

/// The whole finding, through the CLI: layer 0 writes an evil /etc/passwd; layer 1's entry
/// is named etc/passwd in its ustar header but tmp/x\ny in its PAX header.
#[test]
fn the_merged_tree_shows_what_the_container_gets() {
    let image = ImageSpec::new(&["probe:1"])
        .layer(LayerSpec::new().dir("etc").file("etc/passwd", "root::0:0:evil:/root:/bin/sh\n"), "ADD evil /")
        .layer(
            LayerSpec::new().raw_entry(Entry::file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n").pax("path", b"tmp/x\ny")),
            "ADD harmless /",
        );
    let fx = fixture::docker_archive(&[image], &Options::default());
    let dir = tempdir();
    let file = dir.join("probe.tar");
    std::fs::write(&file, &fx.bytes).expect("write");
    let run = |command: &str, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_strata")).arg(command).arg(&file).args(args).output().expect("strata");
        (out.status.code(), out.stdout)
    };
    let (code, cat) = run("cat", &["/etc/passwd"]);
    assert_eq!(code, Some(0));
    assert_eq!(String::from_utf8_lossy(&cat), "root::0:0:evil:/root:/bin/sh\n", "the evil file is what the container sees");
    let (code, ls) = run("ls", &["-R", "--json"]);
    assert_eq!(code, Some(0));
    let ls: serde_json::Value = serde_json::from_slice(&ls).expect("json");
    let paths: Vec<String> = ls.as_array().map(|a| a.iter().filter_map(|e| e["path"].as_str().map(str::to_string)).collect()).unwrap_or_default();
    assert!(paths.iter().any(|p| p == "tmp/x\ny"), "the PAX path is shown: {paths:?}");
}

/// The outer archive too: docker load reads it with Go's archive/tar.
#[test]
fn the_outer_archive_honours_pax_paths() {
    let fx = fixture::docker_archive(&[fixture::web_v1()], &Options::default());
    let mut outer = OuterTar::parse(&fx.bytes);
    let i = outer.entries.iter().position(|e| e.path == b"manifest.json").expect("manifest.json");
    let manifest = outer.entries[i].clone();
    outer.entries[i] = Entry::file("decoy.json", &manifest.data).pax("path", b"manifest.json");
    let bytes = outer.to_bytes();
    let (_, report) = common::open_verify(&bytes).expect("opens: manifest.json is found under its PAX path");
    assert_eq!(report.images.len(), 1);
    assert!(report.images[0].verified);
}

/// Go's archive/tar (`isHeaderOnlyType`) and Python's tarfile read no data after a
/// hardlink, symlink, device, directory or FIFO header, whatever its size field says;
/// tar-rs skipped that many bytes, so a symlink whose size covered the next entries hid
/// them (found by the fuzzer: the container gets /etc/passwd, strata listed only the link).
#[test]
fn a_header_only_entry_with_a_size_hides_nothing() {
    for kind in [b'1', b'2', b'3', b'4', b'5', b'6'] {
        let mut w = TarWriter::new();
        // A header of that type whose size field claims the next entry as its data.
        let evil = Entry::file("etc/passwd", "root::0:0:evil:/root:/bin/sh\n");
        let mut next = TarWriter::new();
        next.entry(&evil);
        let hidden = next.buf.clone();
        let mut link = Entry::new("link", fixture::Kind::Other(kind));
        link.link = if kind == b'1' || kind == b'2' { b"target".to_vec() } else { Vec::new() };
        let mut h = fixture::ustar_header(&link.path, &link.link, kind, hidden.len() as u64, &link).expect("fits");
        fixture::set_checksum(&mut h);
        w.raw(&h);
        w.raw(&hidden);
        let layer = w.finish();
        let names = walk_all_ways(&layer).unwrap_or_else(|e| panic!("type {}: {e}", kind as char));
        let paths: Vec<&[u8]> = names.iter().map(|(p, _)| p.as_slice()).collect();
        assert_eq!(paths, [&b"link"[..], b"etc/passwd"], "type {}", kind as char);
        if let Some(py) = python_names(&layer) {
            let py: Vec<&[u8]> = py.iter().map(|(p, _)| p.as_slice()).collect();
            assert_eq!(py, paths, "python's tarfile agrees (type {})", kind as char);
        }
        // One byte at a time (the guard reads a header whole before tar-rs gets any of it).
        struct OneByte<'a>(&'a [u8]);
        impl std::io::Read for OneByte<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(1).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let (slow, problem) = index_stream(&mut OneByte(&layer));
        assert!(problem.is_none(), "{problem:?}");
        assert_eq!(slow.entries.len(), 2);
    }
}

/// The same header with a PAX size record claiming data: tar-rs would skip it, the
/// runtimes would not, and strata cannot correct a record already read: it stops there.
#[test]
fn a_header_only_entry_with_a_pax_size_is_refused() {
    let mut w = TarWriter::new();
    w.entry(&Entry::symlink("link", "target").pax("size", b"512"));
    w.file("etc/passwd", "evil");
    let err = walk_all_ways(&w.finish()).expect_err("refused");
    assert!(err.contains("type '2'") && err.contains("512"), "{err}");
}

/// Go's archive/tar reads the block after the first zero block: anything but a second
/// zero block (or the end) and it refuses the tar (`ErrHeader`), so Docker, containerd and
/// podman cannot unpack the layer; tar-rs stopped at the first zero block and strata called
/// the layer verified, listing none of what followed.
#[test]
fn a_lone_zero_block_followed_by_entries_is_what_the_runtimes_refuse() {
    let mut w = TarWriter::new();
    w.file("a", "a");
    w.raw(&[0u8; 512]);
    w.file("etc/passwd", "evil");
    let layer = w.finish();
    let err = walk_all_ways(&layer).expect_err("refused, as the runtimes refuse it");
    assert!(err.contains("zero block") && err.contains("Go"), "{err}");
    // Two zero blocks, then anything (padding, garbage) is the normal end, as in Go.
    let mut w = TarWriter::new();
    w.file("a", "a");
    let mut layer = w.finish();
    layer.extend_from_slice(b"trailing bytes after the end marker");
    assert_eq!(walk_all_ways(&layer).expect("readable").len(), 1);
    // And one zero block at the very end is an end too.
    let mut w = TarWriter::new();
    w.file("a", "a");
    w.raw(&[0u8; 512]);
    assert_eq!(walk_all_ways(&w.buf).expect("readable").len(), 1);
}

/// A layer cut short is called that, with where it ends (not "bad tar header").
#[test]
fn a_cut_layer_says_it_is_cut() {
    let mut w = TarWriter::new();
    w.file("a", vec![7u8; 3000]);
    w.file("b", "b");
    let layer = w.finish();
    let cut = &layer[..512 + 3000 + 512 + 100]; // inside b's header block
    let (_, problem) = index_stream(&mut &cut[..]);
    let said = problem.expect("a problem").message.english();
    assert!(said.contains("cut short") && said.contains(&cut.len().to_string()), "{said}");
}
