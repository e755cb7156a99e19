//! Bad input never panics, hangs or eats memory: it gives either a report with findings
//! and failed verdicts, or a `strata::Error` that says what and where.

mod common;

use common::*;
use serde_json::json;
use std::io::{Cursor, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use strata::fixture::{self, Entry, ImageSpec, LayerSpec, Options, TarWriter};
use strata::report::{Compression, Report, Verdict};
use strata::{Archive, Error};

/// What one attempt gave.
enum Outcome {
    Report(Report),
    Failed(Error),
    Panicked(String),
}

fn attempt(bytes: &[u8]) -> Outcome {
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut src = Cursor::new(bytes);
        let mut ar = Archive::open(&mut src, &mut |_| {})?;
        ar.index_layers(&mut src, &mut |_| {})?;
        ar.verify(&mut src, &mut |_| {})?;
        // Also walk every indexed layer entry and read it (what the page and CLI do).
        let report = ar.report().clone();
        for img in &report.images {
            for l in &img.layers {
                let Some(blob) = l.blob else { continue };
                let entries = ar.layer_index(blob).map(|i| i.entries.clone()).unwrap_or_default();
                for e in entries.iter().take(50) {
                    if let Ok(mut rd) = ar.read_entry(&mut src, blob, e) {
                        let _ = std::io::copy(&mut rd, &mut std::io::sink());
                    }
                }
                if let Ok(mut rd) = ar.open_layer_stream(&mut src, blob) {
                    let _ = std::io::copy(&mut rd, &mut std::io::sink());
                }
            }
        }
        Ok::<Report, Error>(report)
    }));
    match r {
        Ok(Ok(rep)) => Outcome::Report(rep),
        Ok(Err(e)) => Outcome::Failed(e),
        Err(p) => Outcome::Panicked(
            p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default(),
        ),
    }
}

/// An error message must be one plain, non-trivial sentence.
fn assert_clear(label: &str, e: &Error) {
    let msg = e.to_string();
    assert!(msg.len() >= 12, "{label}: error message too short: {msg:?}");
    assert!(!msg.contains("panicked"), "{label}: {msg}");
    if let Error::Truncated { .. } = e {
        assert!(msg.contains("byte"), "{label}: a truncation must say where: {msg}");
    }
}

/// Run `attempt` and collect panics; errors must be clear.
fn no_panic(label: &str, bytes: &[u8], panics: &mut Vec<String>) -> Option<Report> {
    match attempt(bytes) {
        Outcome::Report(r) => Some(r),
        Outcome::Failed(e) => {
            assert_clear(label, &e);
            None
        }
        Outcome::Panicked(m) => {
            panics.push(format!("{label}: {m}"));
            None
        }
    }
}

/// The end of the last entry's data (without padding) in a plain outer tar, and the end
/// of the last *essential* entry's data (layers, configs, blobs: what the verdicts depend
/// on). `manifest.json` and `index.json` are not counted: in a Docker 25 save either one
/// alone describes the images; nor are `repositories`, `<id>/json`, `VERSION`, `oci-layout`.
fn content_ends(tar_bytes: &[u8]) -> (usize, usize) {
    let mut ar = tar::Archive::new(tar_bytes);
    let (mut end, mut essential) = (0, 0);
    for e in ar.entries().expect("entries") {
        let e = e.expect("entry");
        let name = String::from_utf8_lossy(&e.path_bytes()).trim_start_matches("./").to_string();
        let data_end = (e.raw_file_position() + e.size()) as usize;
        end = data_end;
        let is_essential = name.ends_with(".tar")
            || name.ends_with(".tar.gz")
            || name.starts_with("blobs/")
            || (name.ends_with(".json") && !name.contains('/') && name != "manifest.json" && name != "index.json");
        if is_essential && e.size() > 0 {
            essential = data_end;
        }
    }
    (end, essential)
}

#[test]
fn truncated_archives() {
    let mut panics = Vec::new();
    let mut wrongly_verified = Vec::new();
    for (name, fx, _) in all_fixtures() {
        let len = fx.bytes.len();
        let compressed = strata::detect::compression(&fx.bytes) != Compression::None;
        let (end, essential_end) = if compressed { (len, len) } else { content_ends(&fx.bytes) };
        // Every 512-byte boundary (header starts), odd offsets around them, and a spread.
        let mut cuts: Vec<usize> = (0..len).step_by(512).collect();
        cuts.extend((0..len).step_by(512).map(|o| o + 1));
        cuts.extend((0..len).step_by(509).map(|o| o + 157));
        cuts.extend([1, 2, 10, 100, 511, 513, 1023, len.saturating_sub(1), len.saturating_sub(8), len.saturating_sub(1024)]);
        cuts.retain(|&c| c < len);
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts {
            let label = format!("{name} cut at {cut}/{len}");
            if let Some(r) = no_panic(&label, &fx.bytes[..cut], &mut panics) {
                // Losing anything the verdicts depend on must fail verification.
                if !compressed && cut < essential_end && r.all_verified() {
                    wrongly_verified.push(format!("{label}: essential content lost but all_verified\n{}", summary(&r)));
                }
                // Losing a file in the middle of its data must at least be said (a cut at an
                // entry boundary is `archive_without_end_marker_is_a_finding`).
                if !compressed && cut < end && r.findings.is_empty() && mid_entry(&fx.bytes, cut) {
                    wrongly_verified.push(format!("{label}: archive cut inside an entry's data, yet no finding\n{}", summary(&r)));
                }
            }
        }
    }
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
    assert!(wrongly_verified.is_empty(), "{}", wrongly_verified.join("\n"));
}

/// Is `cut` strictly inside some entry's data (not in padding or at a header)?
fn mid_entry(tar_bytes: &[u8], cut: usize) -> bool {
    let mut ar = tar::Archive::new(tar_bytes);
    ar.entries().expect("entries").any(|e| {
        let e = e.expect("entry");
        let start = e.raw_file_position() as usize;
        cut > start && cut < start + e.size() as usize
    })
}

#[test]
fn archive_without_end_marker_is_a_finding() {
    // A plain tar cut exactly at an entry boundary reads as a shorter, valid-looking tar,
    // except that its end-of-archive marker (two zero blocks) is gone. Whole trailing
    // entries can be lost this way (repositories, oci-layout, or manifest.json of a Docker 25
    // save, which index.json alone still describes): strata must say the file may be
    // truncated rather than report it as if complete.
    let mut silent = Vec::new();
    for (name, fx, _) in clean_fixtures() {
        if strata::detect::compression(&fx.bytes) != Compression::None {
            continue;
        }
        let t = fixture::OuterTar::parse(&fx.bytes);
        // Drop the end marker only, then also the last entry.
        let full = t.to_bytes();
        let no_marker = &full[..full.len() - 1024];
        let mut shorter = t.clone();
        shorter.entries.pop();
        let s = shorter.to_bytes();
        let no_last = &s[..s.len() - 1024];
        for (what, bytes) in [("no end marker", no_marker), ("last entry and end marker lost", no_last)] {
            if let Outcome::Report(r) = attempt(bytes) {
                if r.findings.is_empty() {
                    silent.push(format!("{name}: {what}: no finding"));
                }
            }
        }
    }
    assert!(silent.is_empty(), "{}", silent.join("\n"));
}

#[test]
fn bit_flips() {
    let mut panics = Vec::new();
    let mut wrongly_verified = Vec::new();
    for (name, fx, _) in all_fixtures() {
        let len = fx.bytes.len();
        let compressed = strata::detect::compression(&fx.bytes) != Compression::None;
        // Every byte of the first two headers, then a stride across the whole archive.
        let mut offsets: Vec<usize> = (0..1024.min(len)).step_by(if compressed { 1 } else { 3 }).collect();
        offsets.extend((0..len).step_by(97));
        for off in offsets {
            for mask in [0x01u8, 0x80] {
                let mut b = fx.bytes.clone();
                b[off] ^= mask;
                let label = format!("{name} flip {mask:#04x} at {off}/{len}");
                if let Some(r) = no_panic(&label, &b, &mut panics) {
                    // A flipped bit inside a layer's stored bytes must never verify.
                    if !compressed && r.all_verified() && in_layer_data(&fx, &fx.bytes, off) {
                        wrongly_verified.push(format!("{label}: flip inside layer data but all_verified"));
                    }
                }
            }
        }
    }
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
    assert!(wrongly_verified.is_empty(), "{}", wrongly_verified.join("\n"));
}

/// Is `off` inside the data of an outer entry holding a layer's stored bytes?
fn in_layer_data(fx: &fixture::Fixture, bytes: &[u8], off: usize) -> bool {
    let stored: Vec<&[u8]> = fx.images.iter().flat_map(|i| i.layers.iter().map(|l| l.stored.as_slice())).collect();
    let mut ar = tar::Archive::new(bytes);
    for e in ar.entries().expect("entries") {
        let mut e = e.expect("entry");
        let start = e.raw_file_position() as usize;
        let size = e.size() as usize;
        if off >= start && off < start + size {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).expect("data");
            return stored.contains(&data.as_slice());
        }
    }
    false
}

#[test]
fn not_tar_files_are_clear_errors() {
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("one byte", vec![0x42]),
        ("text", b"hello, this is a text file, not an archive\n".repeat(20)),
        ("json", br#"{"schemaVersion":2,"manifests":[]}"#.to_vec()),
        ("png", fixture::tiny_png(16)),
        ("zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00".iter().copied().chain(std::iter::repeat_n(0x55, 2000)).collect()),
        ("elf", b"\x7fELF\x02\x01\x01".iter().copied().chain(std::iter::repeat_n(0, 4000)).collect()),
        ("random", (0..100_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
        ("gzip of text", fixture::compress(&b"plain text, not a tar\n".repeat(100), Compression::Gzip)),
        ("zstd of text", fixture::compress(&b"plain text, not a tar\n".repeat(100), Compression::Zstd)),
        ("gzip header only", vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]),
        ("zstd magic only", vec![0x28, 0xb5, 0x2f, 0xfd]),
        ("xz magic only", b"\xfd7zXZ\x00".to_vec()),
    ];
    cases.push(("bzip2 magic", b"BZh91AY&SY".iter().copied().chain(std::iter::repeat_n(0, 100)).collect()));
    for (label, bytes) in &cases {
        match attempt(bytes) {
            Outcome::Failed(e) => assert_clear(label, &e),
            Outcome::Report(r) => panic!("{label}: read as an archive\n{}", summary(&r)),
            Outcome::Panicked(m) => panic!("{label}: panicked: {m}"),
        }
    }
    // Precise kinds where the kind is certain.
    let kind = |b: &[u8]| match attempt(b) {
        Outcome::Failed(e) => e,
        _ => panic!("expected an error"),
    };
    assert!(matches!(kind(&[]), Error::NotTar { .. }), "empty file");
    assert!(matches!(kind(&cases[2].1), Error::NotTar { .. }), "text file: {}", kind(&cases[2].1));
    assert!(matches!(kind(&cases[7].1), Error::NotTar { .. }), "random bytes");
    let bz = kind(&cases.last().expect("bz").1);
    assert!(matches!(bz, Error::Unsupported { .. }), "bzip2: {bz}");
    // A valid tar that is not an image archive.
    let mut w = TarWriter::new();
    w.file("hello.txt", "hi\n");
    w.file("etc/passwd", "root:x:0:0\n");
    let e = kind(&w.finish());
    assert!(matches!(e, Error::NotImageArchive { .. }), "{e}");
    assert!(e.to_string().contains("hello.txt"), "say what was found: {e}");
    // An empty tar (just the end marker).
    let e = kind(&[0u8; 1024]);
    assert!(matches!(e, Error::NotImageArchive { .. } | Error::NotTar { .. }), "{e}");
    // A gzip'd plain tar that is not an image archive.
    let mut w = TarWriter::new();
    w.file("notes.md", "# notes\n");
    let e = kind(&fixture::compress(&w.finish(), Compression::Gzip));
    assert!(matches!(e, Error::NotImageArchive { .. }), "{e}");
}

/// A raw header for `name` claiming `size` bytes (octal, or base-256 when `base256`).
fn header_claiming(name: &str, size: u64, base256: bool) -> [u8; 512] {
    let e = Entry::file(name, b"");
    let mut h = fixture::ustar_header(name.as_bytes(), b"", b'0', 0, &e).expect("header");
    if base256 {
        h[124] = 0x80;
        for (i, b) in size.to_be_bytes().iter().enumerate() {
            h[128 + i] = *b;
        }
        for b in &mut h[125..128] {
            *b = 0;
        }
    } else {
        let s = format!("{size:011o}\0");
        h[124..136].copy_from_slice(s.as_bytes());
    }
    fixture::set_checksum(&mut h);
    h
}

#[test]
fn absurd_sizes_and_counts() {
    let mut panics = Vec::new();
    let good = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let t = fixture::OuterTar::parse(&good.bytes);

    // An outer entry claiming 8 GiB (octal max) and one claiming 2^62 (base-256), with no data.
    for (label, h) in [("octal 8 GiB", header_claiming("huge.bin", 0o77777777777, false)), ("base-256 2^62", header_claiming("huge.bin", 1 << 62, true))] {
        // At the start, and after the real entries.
        let mut a = h.to_vec();
        a.extend(t.to_bytes());
        no_panic(&format!("{label} first"), &a, &mut panics);
        let mut b = t.to_bytes();
        b.truncate(b.len() - 1024);
        b.extend_from_slice(&h);
        b.extend_from_slice(&[0u8; 4096]);
        if let Some(r) = no_panic(&format!("{label} last"), &b, &mut panics) {
            assert!(!r.findings.is_empty(), "{label}: an entry running past the end must be a finding\n{}", summary(&r));
        }
    }

    // A layer whose inner tar has a header claiming 8 GiB / 2^62.
    for (label, h) in [("layer octal 8 GiB", header_claiming("big", 0o77777777777, false)), ("layer base-256", header_claiming("big", 1 << 62, true))] {
        let mut layer = LayerSpec::new().file("ok.txt", "fine\n");
        layer.no_end_marker = true;
        layer.trailing = h.to_vec();
        let spec = ImageSpec::new(&["absurd:1"]).layer(layer, "absurd");
        for (fmt, fx) in [("oci", fixture::docker_oci(std::slice::from_ref(&spec), &Options::default())), ("legacy", fixture::docker_legacy(std::slice::from_ref(&spec), &Options::default()))] {
            let gz = fixture::compress(&fx.bytes, Compression::Gzip);
            for (c, bytes) in [("plain", fx.bytes.clone()), ("gzip", gz)] {
                let label = format!("{label} {fmt} {c}");
                if let Some(r) = no_panic(&label, &bytes, &mut panics) {
                    // The digests are right (the bytes are what the config says), but the layer
                    // is not a valid tar: that must be visible as a finding.
                    assert!(!r.findings.is_empty(), "{label}: a broken layer tar must be a finding\n{}", summary(&r));
                }
            }
        }
    }

    // Many entries: 60 000 empty files around a valid image.
    let mut w = TarWriter::new();
    for i in 0..60_000 {
        w.file(format!("junk/{i}"), b"");
    }
    for e in &t.entries {
        w.entry(e);
    }
    let many = w.finish();
    match attempt(&many) {
        Outcome::Report(r) => assert!(r.images.len() == 1 && r.images[0].verified, "{}", summary(&r)),
        Outcome::Failed(e) => assert!(matches!(e, Error::Limit { .. }), "{e}"),
        Outcome::Panicked(m) => panics.push(format!("many entries: {m}")),
    }

    // A layer with 200 000 entries.
    let mut layer = LayerSpec::new();
    for i in 0..50_000u32 {
        layer.entries.push(Entry::file(format!("f/{i}"), b""));
    }
    let fx = fixture::docker_oci(&[ImageSpec::new(&["many:1"]).layer(layer, "many files")], &Options::default());
    if let Some(r) = no_panic("layer with 50k entries", &fx.bytes, &mut panics) {
        assert!(r.all_verified(), "{}", summary(&r));
        assert_eq!(r.images[0].layers[0].entries, Some(50_000));
    }

    // manifest.json listing 20 000 images / an image with 20 000 layers.
    let cfg = fixture::digest(&good.images[0].config);
    let one = json!({"Config": format!("{}.json", fixture::hex_of(&cfg)), "RepoTags": ["x:1"], "Layers": []});
    let many_images: Vec<_> = (0..20_000).map(|_| one.clone()).collect();
    let layers: Vec<String> = (0..20_000).map(|i| format!("{i}/layer.tar")).collect();
    let many_layers = json!([{"Config": format!("{}.json", fixture::hex_of(&cfg)), "RepoTags": ["x:1"], "Layers": layers}]);
    for (label, m) in [("20k images", json!(many_images)), ("20k layers", many_layers)] {
        let bytes = fixture::replace_entry(&good.bytes, "manifest.json", serde_json::to_vec(&m).expect("json"));
        no_panic(label, &bytes, &mut panics);
    }
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
}

#[test]
fn hostile_json() {
    let mut panics = Vec::new();
    let good = fixture::docker_oci(&[fixture::web_v1()], &Options::default());
    let cfg_name = format!("blobs/sha256/{}", fixture::hex_of(&good.images[0].id));
    let deep = |n: usize| {
        let mut s = "[".repeat(n);
        s.push_str(&"]".repeat(n));
        s.into_bytes()
    };
    let deep_obj = |n: usize| {
        let mut s = String::new();
        for _ in 0..n {
            s.push_str("{\"a\":");
        }
        s.push('1');
        s.push_str(&"}".repeat(n));
        s.into_bytes()
    };
    let mut huge = b"[".to_vec();
    huge.extend(std::iter::repeat_n(b' ', 40 << 20));
    huge.extend(b"]");
    let mut long_string = b"[{\"Config\":\"".to_vec();
    long_string.extend(std::iter::repeat_n(b'a', 20 << 20));
    long_string.extend(b"\",\"RepoTags\":[\"x:1\"],\"Layers\":[]}]");
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("manifest deep arrays", "manifest.json", deep(100_000)),
        ("manifest deep objects", "manifest.json", deep_obj(100_000)),
        ("manifest 40 MB", "manifest.json", huge.clone()),
        ("manifest 20 MB string", "manifest.json", long_string),
        ("manifest wrong types", "manifest.json", br#"[{"Config":42,"RepoTags":"x","Layers":{"a":1}}, 7, null, "s"]"#.to_vec()),
        ("manifest object", "manifest.json", br#"{"Config":"x"}"#.to_vec()),
        ("manifest invalid utf8", "manifest.json", b"[{\"Config\":\"\xff\xfe\"}]".to_vec()),
        ("manifest empty", "manifest.json", Vec::new()),
        ("manifest empty array", "manifest.json", b"[]".to_vec()),
        ("index deep", "index.json", deep(100_000)),
        ("index 40 MB", "index.json", huge.clone()),
        ("index wrong types", "index.json", br#"{"manifests":[{"digest":5,"size":"x"},{"digest":"sha256:zz","size":-1},{"digest":"md5:abc"}]}"#.to_vec()),
        ("repositories deep", "repositories", deep_obj(100_000)),
        ("config deep", &cfg_name, deep_obj(100_000)),
        ("config 40 MB", &cfg_name, huge),
        ("config wrong types", &cfg_name, br#"{"rootfs":{"diff_ids":"x"},"history":{"a":1},"config":{"Env":"x","ExposedPorts":[1],"Labels":[]}}"#.to_vec()),
    ];
    for (label, entry, data) in cases {
        let bytes = fixture::replace_entry(&good.bytes, entry, data);
        no_panic(label, &bytes, &mut panics);
        // And the same inside a gzip'd outer archive (the streaming path).
        let gz = fixture::compress(&bytes, Compression::Gzip);
        no_panic(&format!("{label} (gzip)"), &gz, &mut panics);
    }
    // A chain of 20 nested indexes.
    let m = &good.images[0].manifest;
    let mut t = fixture::OuterTar::parse(&good.bytes);
    let mut desc = json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": fixture::digest(m), "size": m.len()});
    for _ in 0..20 {
        let idx = serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [desc]})).expect("json");
        let d = fixture::digest(&idx);
        t.push(Entry::file(format!("blobs/sha256/{}", fixture::hex_of(&d)), &idx));
        desc = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": idx.len()});
    }
    t.remove("manifest.json");
    t.set_data("index.json", serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [desc]})).expect("json"));
    if let Some(r) = no_panic("20 nested indexes", &t.to_bytes(), &mut panics) {
        assert!(!r.findings.is_empty(), "too deep nesting must be a finding\n{}", summary(&r));
    }
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
}

#[test]
fn manifests_referencing_missing_or_strange_paths() {
    let mut panics = Vec::new();
    let good = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let cfg = format!("{}.json", fixture::hex_of(&good.images[0].id));
    let cases = vec![
        ("missing config", json!([{"Config": "nope.json", "RepoTags": ["a:1"], "Layers": []}])),
        ("missing layers", json!([{"Config": cfg, "RepoTags": ["a:1"], "Layers": ["x/layer.tar", "y/layer.tar"]}])),
        ("escaping paths", json!([{"Config": "../../etc/passwd", "RepoTags": ["a:1"], "Layers": ["/etc/shadow", "../../../x", "./../y"]}])),
        ("empty strings", json!([{"Config": "", "RepoTags": [""], "Layers": [""]}])),
        ("directory as layer", json!([{"Config": cfg, "RepoTags": ["a:1"], "Layers": ["blobs/", "."]}])),
        ("config as layer", json!([{"Config": cfg, "RepoTags": ["a:1"], "Layers": [cfg, "manifest.json"]}])),
        ("bad tags", json!([{"Config": cfg, "RepoTags": ["::::", "a:b:c:d", "UPPER/Case:Tag", "x@sha256:abc"], "Layers": []}])),
    ];
    for (label, m) in cases {
        let bytes = fixture::replace_entry(&good.bytes, "manifest.json", serde_json::to_vec(&m).expect("json"));
        if let Some(r) = no_panic(label, &bytes, &mut panics) {
            if label != "bad tags" {
                assert!(!r.all_verified(), "{label}: must not verify\n{}", summary(&r));
            }
            if label == "missing layers" {
                let vs: Vec<Verdict> = r.images[0].layers.iter().flat_map(|l| l.checks.iter().map(|c| c.verdict.clone())).collect();
                assert!(vs.iter().filter(|v| **v == Verdict::Missing).count() >= 2, "{label}: {vs:?}\n{}", summary(&r));
            }
        }
    }
    // OCI: index.json pointing at a manifest that is not there; manifest pointing at a config
    // that is not there.
    let oci = fixture::oci_archive(&[fixture::web_v1()], &Options::default(), false);
    let bytes = fixture::remove_entry(&oci.bytes, &format!("blobs/sha256/{}", fixture::hex_of(&oci.images[0].manifest_digest)));
    if let Some(r) = no_panic("oci missing manifest", &bytes, &mut panics) {
        assert!(!r.all_verified(), "{}", summary(&r));
        assert!(!r.findings.is_empty());
    }
    let bytes = fixture::remove_entry(&oci.bytes, &format!("blobs/sha256/{}", fixture::hex_of(&oci.images[0].id)));
    if let Some(r) = no_panic("oci missing config", &bytes, &mut panics) {
        assert!(!r.all_verified(), "{}", summary(&r));
    }
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
}

#[test]
fn symlink_cycles_and_escapes() {
    let mut panics = Vec::new();
    let good = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let ids = good.images[0].v1_ids();
    let p0 = format!("{}/layer.tar", ids[0]);
    let p1 = format!("{}/layer.tar", ids[1]);
    type Edit = Box<dyn Fn(&mut fixture::OuterTar)>;
    let (a, b) = (p0.clone(), p1.clone());
    let (a2, b2) = (p0.clone(), p1.clone());
    let (a3, a4, a5) = (p0.clone(), p0.clone(), p0.clone());
    let cases: Vec<(&str, Edit)> = vec![
        ("two-link cycle", Box::new(move |t| {
            t.remove(&a);
            t.remove(&b);
            t.push(Entry::symlink(&a, format!("../{b}")));
            t.push(Entry::symlink(&b, format!("../{a}")));
        })),
        ("self link", Box::new(move |t| {
            t.remove(&a2);
            t.push(Entry::symlink(&a2, "layer.tar"));
            let _ = &b2;
        })),
        ("long chain", Box::new(move |t| {
            t.remove(&a3);
            for i in 0..100 {
                t.push(Entry::symlink(format!("chain/{i}"), format!("{}", i + 1)));
            }
            t.push(Entry::symlink(&a3, "../chain/0"));
        })),
        ("escaping link", Box::new(move |t| {
            t.remove(&a4);
            t.push(Entry::symlink(&a4, "../../../../etc/passwd"));
        })),
        ("absolute link", Box::new(move |t| {
            t.remove(&a5);
            t.push(Entry::symlink(&a5, "/etc/passwd"));
        })),
        ("hardlink cycle", Box::new(move |t| {
            t.remove(&p0);
            t.remove(&p1);
            t.push(Entry::hardlink(&p0, &p1));
            t.push(Entry::hardlink(&p1, &p0));
        })),
    ];
    for (label, edit) in cases {
        let mut t = fixture::OuterTar::parse(&good.bytes);
        edit(&mut t);
        let bytes = t.to_bytes();
        for (c, b) in [("plain", bytes.clone()), ("gzip", fixture::compress(&bytes, Compression::Gzip))] {
            let label = format!("{label} ({c})");
            if let Some(r) = no_panic(&label, &b, &mut panics) {
                assert!(!r.all_verified(), "{label}: must not verify\n{}", summary(&r));
                assert_eq!(r.images.len(), 1, "{label}: the image is still reported\n{}", summary(&r));
            }
        }
    }
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
}

/// A gzip stream of a tar holding `manifest.json` of `size` zero bytes (written in chunks,
/// never held whole), followed by a real image.
fn gzip_bomb_archive(size: u64, then: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let e = Entry::file("manifest.json", b"");
    let mut h = fixture::ustar_header(b"manifest.json", b"", b'0', size, &e).expect("header");
    fixture::set_checksum(&mut h);
    enc.write_all(&h).expect("gz");
    let chunk = vec![b' '; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        enc.write_all(&chunk[..n]).expect("gz");
        left -= n as u64;
    }
    let pad = (512 - (size % 512) as usize) % 512;
    enc.write_all(&vec![0u8; pad]).expect("gz");
    enc.write_all(then).expect("gz");
    enc.finish().expect("gz")
}

#[test]
fn gzip_bomb_named_manifest_json() {
    let mut panics = Vec::new();
    // A real archive, minus its own manifest.json, after a 512 MiB manifest.json of spaces.
    let good = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let mut t = fixture::OuterTar::parse(&good.bytes);
    t.remove("manifest.json");
    let rest = t.to_bytes();
    let bomb = gzip_bomb_archive(512 << 20, &rest);
    assert!(bomb.len() < 2 << 20, "the bomb is small: {} bytes", bomb.len());
    match attempt(&bomb) {
        Outcome::Report(r) => assert!(!r.findings.is_empty(), "an oversized manifest.json must be a finding\n{}", summary(&r)),
        Outcome::Failed(e) => assert_clear("gzip bomb", &e),
        Outcome::Panicked(m) => panics.push(format!("gzip bomb: {m}")),
    }
    // manifest.json whose bytes are themselves a gzip bomb (never decompressed: not JSON).
    let inner = fixture::compress(&vec![b' '; 64 << 20], Compression::Gzip);
    let bytes = fixture::replace_entry(&good.bytes, "manifest.json", inner);
    for (c, b) in [("plain", bytes.clone()), ("gzip", fixture::compress(&bytes, Compression::Gzip))] {
        match attempt(&b) {
            Outcome::Report(r) => assert!(!r.all_verified(), "{c}\n{}", summary(&r)),
            Outcome::Failed(e) => assert_clear(c, &e),
            Outcome::Panicked(m) => panics.push(format!("gzip-bomb manifest ({c}): {m}")),
        }
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

#[test]
fn short_reads_on_damaged_archives() {
    // Truncated and flipped copies through the short-read wrapper: same outcome kind.
    let fx = fixture::docker_oci(&[fixture::web_v1()], &Options::default());
    let gz = fixture::compress(&fx.bytes, Compression::Gzip);
    let mut panics = Vec::new();
    for bytes in [&fx.bytes, &gz] {
        for cut in (0..bytes.len()).step_by(1499) {
            let b = &bytes[..cut];
            let r = catch_unwind(AssertUnwindSafe(|| open_verify_short(b, 301).map(|r| summary(&r)).map_err(|e| e.to_string())));
            match r {
                Ok(short) => {
                    let full = open_verify(b).map(|(_, r)| summary(&r)).map_err(|e| e.to_string());
                    assert_eq!(short.is_ok(), full.is_ok(), "cut {cut}: short {short:?} vs full {full:?}");
                }
                Err(_) => panics.push(format!("cut {cut}")),
            }
        }
    }
    assert!(panics.is_empty(), "{}", panics.join("\n"));
}

/// A file whose bytes would run past the end of its (plain) layer is an error that says so,
/// whichever way it is read: by `read_entry`, or through the `ArchiveSource` an export and
/// `strata cat` use. Never a silently short file.
#[test]
fn a_file_past_its_layers_end_is_an_error() {
    use strata::merge::read::ContentSource;
    use strata::merge::source::{image_layers, ArchiveSource};
    let img = ImageSpec::new(&["example.com/past:1"]).layer(LayerSpec::new().file("etc/a", b"hello"), "COPY a /etc/a");
    let bytes = fixture::docker_archive(&[img], &Options::default()).bytes;
    let mut src = Cursor::new(bytes);
    let mut ar = Archive::open(&mut src, &mut |_| {}).expect("open");
    ar.verify(&mut src, &mut |_| {}).expect("verify");
    let image = ar.report().images[0].clone();
    let layers = image_layers(&ar, &image);
    let real = layers.indexes[0].entries.iter().find(|e| &*e.path == b"etc/a").expect("etc/a").clone();
    let mut past = real.clone();
    past.data_offset = layers.indexes[0].uncompressed_size - 100;
    past.size = 1000;
    let blob = layers.blobs[0].expect("blob");
    let expect_truncated = |r: Result<Box<dyn std::io::Read + '_>, Error>| match r {
        Err(Error::Truncated { detail, .. }) => assert!(detail.contains("past the end of its layer"), "{detail}"),
        Err(e) => panic!("not a truncation: {e}"),
        Ok(_) => panic!("read a file past its layer's end without an error"),
    };
    expect_truncated(ar.read_entry(&mut src, blob, &past));
    let mut source = ArchiveSource::new(&ar, &mut src, layers.blobs.clone());
    expect_truncated(source.open_entry(0, &past));
    let mut got = Vec::new();
    source.open_entry(0, &real).expect("the real file").read_to_end(&mut got).expect("read");
    assert_eq!(got, b"hello");
}
