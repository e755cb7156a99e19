//! Shared helpers for the integration tests: open + verify from memory, with or without
//! short reads, and ways to look at verdicts.
#![allow(dead_code)]

pub mod damage;

use std::io::Cursor;
use strata::fixture::{self, Fixture, ImageSpec, LayerSpec, Options};
use strata::report::{Check, Compression, Image, Report, Severity, Verdict};
use strata::{Archive, Error};

/// Open and verify `bytes` from an in-memory cursor.
pub fn open_verify(bytes: &[u8]) -> Result<(Archive, Report), Error> {
    let mut src = Cursor::new(bytes.to_vec());
    let mut ar = Archive::open(&mut src, &mut |_| {})?;
    ar.verify(&mut src, &mut |_| {})?;
    let r = ar.report().clone();
    Ok((ar, r))
}

/// Open and verify `bytes` through a reader that returns 1..=max bytes per call.
pub fn open_verify_short(bytes: &[u8], max: usize) -> Result<Report, Error> {
    let mut src = strata::io::ShortReads { inner: Cursor::new(bytes.to_vec()), max, calls: 0 };
    let mut ar = Archive::open(&mut src, &mut |_| {})?;
    ar.verify(&mut src, &mut |_| {})?;
    Ok(ar.report().clone())
}

/// Open and verify, also running index_layers in between (the page's order).
pub fn open_index_verify(bytes: &[u8]) -> Result<Report, Error> {
    let mut src = Cursor::new(bytes.to_vec());
    let mut ar = Archive::open(&mut src, &mut |_| {})?;
    ar.index_layers(&mut src, &mut |_| {})?;
    ar.verify(&mut src, &mut |_| {})?;
    Ok(ar.report().clone())
}

/// Every check in the report with where it sits (`image 0`, `image 0 layer 1`).
pub fn all_checks(r: &Report) -> Vec<(String, Check)> {
    let mut out = Vec::new();
    for img in &r.images {
        for c in &img.checks {
            out.push((format!("image {} {:?}", img.index, img.repo_tags), c.clone()));
        }
        for l in &img.layers {
            for c in &l.checks {
                out.push((format!("image {} {:?} layer {}", img.index, img.repo_tags, l.index), c.clone()));
            }
        }
    }
    out
}

/// A one-line-per-item summary of a report (for failure messages and for comparing runs).
pub fn summary(r: &Report) -> String {
    let mut s = format!("format {:?} compression {:?} verification_done {}\n", r.archive.format, r.archive.compression, r.verification_done);
    for img in &r.images {
        s.push_str(&format!("image {} tags {:?} id {} verified {} source {}\n", img.index, img.repo_tags, img.id, img.verified, img.source));
        for c in &img.checks {
            s.push_str(&format!("  check {}: {:?}\n", c.item, c.verdict));
        }
        for l in &img.layers {
            s.push_str(&format!(
                "  layer {} digest {:?} diff_id {:?} comp {:?} foreign {} entries {:?} history {:?}\n",
                l.index, l.digest, l.diff_id, l.compression, l.foreign, l.entries, l.history
            ));
            for c in &l.checks {
                s.push_str(&format!("    check {}: {:?}\n", c.item, c.verdict));
            }
        }
    }
    for f in &r.findings {
        s.push_str(&format!("finding {:?}: {} @ {:?}\n", f.severity, f.message, f.location));
    }
    s
}

/// The report image with this ID.
pub fn image_by_id<'a>(r: &'a Report, id: &str) -> &'a Image {
    r.images.iter().find(|i| i.id == id).unwrap_or_else(|| panic!("no image with id {id}\n{}", summary(r)))
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Assert everything about a clean fixture: images (by ID computed here from the config
/// bytes), tags, layer count, digests and diff_ids (computed here from the bytes the builder
/// wrote), every verdict ok, the report verified. `oci` says manifests name layer digests.
pub fn assert_clean(name: &str, fx: &Fixture, r: &Report, oci: bool) {
    let sum = summary(r);
    let distinct: std::collections::BTreeSet<String> = fx.images.iter().map(|i| fixture::digest(&i.config)).collect();
    assert_eq!(r.images.len(), distinct.len(), "{name}: image count\n{sum}");
    for built in &fx.images {
        let id = fixture::digest(&built.config);
        let img = image_by_id(r, &id);
        let want_tags: Vec<String> = fx.images.iter().filter(|b| fixture::digest(&b.config) == id).flat_map(|b| b.tags.clone()).collect();
        assert_eq!(sorted(img.repo_tags.clone()), sorted(want_tags), "{name}: tags of {id}\n{sum}");
        assert_eq!(img.layers.len(), built.layers.len(), "{name}: layer count of {id}\n{sum}");
        for (k, (got, want)) in img.layers.iter().zip(&built.layers).enumerate() {
            assert_eq!(got.index, k, "{name}: layer index");
            let diff_id = fixture::digest(&want.tar);
            assert_eq!(got.diff_id.as_deref(), Some(diff_id.as_str()), "{name}: diff_id of layer {k}\n{sum}");
            let stored = fixture::digest(&want.stored);
            if oci {
                assert_eq!(got.digest.as_deref(), Some(stored.as_str()), "{name}: digest of layer {k}\n{sum}");
                assert_eq!(got.stored_size, Some(want.stored.len() as u64), "{name}: stored size of layer {k}\n{sum}");
            }
            assert_eq!(got.uncompressed_size, Some(want.tar.len() as u64), "{name}: uncompressed size of layer {k}\n{sum}");
            let want_comp = want.compression;
            assert_eq!(got.compression, Some(want_comp), "{name}: compression of layer {k}\n{sum}");
            assert!(!got.checks.is_empty(), "{name}: layer {k} has no checks\n{sum}");
            assert!(got.blob.is_some(), "{name}: layer {k} has no blob handle\n{sum}");
        }
        assert!(img.verified, "{name}: image {id} not verified\n{sum}");
        assert_eq!(img.size, built.layers.iter().map(|l| l.tar.len() as u64).sum::<u64>(), "{name}: size of {id}\n{sum}");
    }
    for (at, c) in all_checks(r) {
        assert!(c.verdict.is_ok(), "{name}: {at}: {} is {:?}\n{sum}", c.item, c.verdict);
    }
    assert!(r.verification_done, "{name}: verification not done\n{sum}");
    assert!(!r.findings.iter().any(|f| f.severity == Severity::Error), "{name}: error findings\n{sum}");
    assert!(r.all_verified(), "{name}: not all verified\n{sum}");
}

/// Every named fixture used by the format, short-read and robustness tests (clean ones).
/// The bool says whether the format names layer digests (OCI layouts, skopeo archives).
pub fn clean_fixtures() -> Vec<(&'static str, Fixture, bool)> {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    let mut v = vec![
        ("legacy", fixture::docker_legacy(&web, &Options::default()), false),
        ("legacy-dirs", fixture::docker_legacy(&web, &Options { dir_entries: true, ..Default::default() }), false),
        ("legacy-dot-slash", fixture::docker_legacy(&web, &Options { dot_slash: true, ..Default::default() }), false),
        ("legacy-untagged-null", fixture::docker_legacy(&[ImageSpec { tags: vec![], ..fixture::web_v1() }], &Options { null_repo_tags: true, ..Default::default() }), false),
        ("legacy-untagged-empty", fixture::docker_legacy(&[ImageSpec { tags: vec![], ..fixture::web_v1() }], &Options::default()), false),
        ("legacy-repeated-layer", fixture::docker_legacy(&[repeated_layer_image()], &Options::default()), false),
        ("legacy-kaniko-gzip", fixture::docker_legacy(&[kaniko_image()], &Options::default()), false),
        ("docker-archive-symlink", fixture::docker_archive(&web, &Options::default()), false),
        ("docker-archive-hardlink", fixture::docker_archive(&web, &Options { link: fixture::LinkStyle::Hardlink, ..Default::default() }), false),
        ("docker-oci", fixture::docker_oci(&web, &Options::default()), true),
        ("docker-oci-dot-slash", fixture::docker_oci(&web, &Options { dot_slash: true, dir_entries: true, ..Default::default() }), true),
        ("docker-oci-untagged", fixture::docker_oci(&[ImageSpec { tags: vec![], ..fixture::web_v1() }], &Options::default()), true),
        ("docker-containerd", fixture::docker_containerd(&web, &Options::default()), true),
        ("oci-archive-nested", fixture::oci_archive(&[mixed_compression_image()], &Options::default(), true), true),
        ("oci-archive-flat", fixture::oci_archive(&[mixed_compression_image(), fixture::web_v2()], &Options::default(), false), true),
        ("odd-names", fixture::docker_oci(&[odd_names_image()], &Options::default()), true),
        (
            "oci-archive-platforms",
            fixture::oci_archive_platforms(&[fixture::web_v1(), fixture::web_v1().platform("linux", "arm64", Some("v8"))], &Options::default()),
            true,
        ),
        ("sample", sample_fixture(), true),
    ];
    // Same archives, whole-archive compressed.
    let legacy = fixture::docker_legacy(&web, &Options::default());
    let oci = fixture::docker_oci(&web, &Options::default());
    let nested = fixture::oci_archive(&[mixed_compression_image()], &Options::default(), true);
    v.push(("legacy.tar.gz", Fixture { bytes: fixture::compress(&legacy.bytes, Compression::Gzip), ..legacy.clone() }, false));
    v.push(("legacy.tar.zst", Fixture { bytes: fixture::compress(&legacy.bytes, Compression::Zstd), ..legacy.clone() }, false));
    v.push(("docker-oci.tar.gz", Fixture { bytes: fixture::compress(&oci.bytes, Compression::Gzip), ..oci.clone() }, true));
    v.push(("oci-archive-nested.tar.zst", Fixture { bytes: fixture::compress(&nested.bytes, Compression::Zstd), ..nested.clone() }, true));
    if has_binary("xz") {
        v.push(("legacy.tar.xz", Fixture { bytes: fixture::compress(&legacy.bytes, Compression::Xz), ..legacy.clone() }, false));
    }
    // Two gzip members (as `cat a.gz b.gz` or pigz can produce).
    let half = legacy.bytes.len() / 2;
    let mut multi = fixture::compress(&legacy.bytes[..half], Compression::Gzip);
    multi.extend(fixture::compress(&legacy.bytes[half..], Compression::Gzip));
    v.push(("legacy.multi-member.tar.gz", Fixture { bytes: multi, ..legacy }, false));
    v
}

pub fn sample_fixture() -> Fixture {
    fixture::docker_oci(&fixture::sample_specs(), &Options { dir_entries: true, ..Default::default() })
}

/// GNU tar's archive of the directory `root` (its contents, sorted, owner 0, a fixed mtime)
/// in `out`, with `--sparse` (holes stored as sparse maps) when asked.
pub fn gnu_tar_pack(root: &std::path::Path, sparse: bool, options: &[&str], out: &std::path::Path) {
    let mut tar = std::process::Command::new("tar");
    if sparse {
        tar.arg("--sparse");
    }
    run(tar
        .args(options)
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=2024-01-01"])
        .arg("-cf")
        .arg(out)
        .arg("-C")
        .arg(root)
        .arg("."));
}

/// A fresh directory under the system's temp dir, `strata-<prefix>-<pid>-<n>`.
pub fn tempdir(prefix: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("strata-{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&dir).expect("tempdir");
    dir
}

/// Run a command that must succeed; its stdout.
pub fn run(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

pub fn has_binary(name: &str) -> bool {
    std::process::Command::new(name).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Clean fixtures plus the Jib-style ones (camelCase manifest.json keys), for the tests
/// that only need readable input (short reads, robustness).
pub fn all_fixtures() -> Vec<(&'static str, Fixture, bool)> {
    let mut v = clean_fixtures();
    v.extend(jib_fixtures());
    v
}

pub fn jib_fixtures() -> Vec<(&'static str, Fixture, bool)> {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    vec![
        ("jib", fixture::jib(&fixture::web_v1(), &Options::default()), false),
        ("legacy-dot-slash-camelcase", fixture::docker_legacy(&web, &Options { dot_slash: true, lowercase_keys: true, ..Default::default() }), false),
    ]
}

/// An image whose 1st and 3rd layers are byte-identical (legacy save writes it once).
pub fn repeated_layer_image() -> ImageSpec {
    let same = LayerSpec::new().file("same.txt", "identical layer\n");
    ImageSpec::new(&["repeat:1"])
        .layer(same.clone(), "/bin/sh -c #(nop) ADD same.txt / ")
        .layer(LayerSpec::new().file("other.txt", "other\n"), "/bin/sh -c #(nop) ADD other.txt / ")
        .layer(same, "/bin/sh -c #(nop) ADD same.txt / ")
}

/// A kaniko-style image: gzip data in files named `layer.tar`.
pub fn kaniko_image() -> ImageSpec {
    ImageSpec::new(&["kaniko:latest"])
        .layer(fixture::base_layer().compressed(Compression::Gzip), "kaniko base")
        .layer(LayerSpec::new().file("app/run.sh", "#!/bin/sh\n").compressed(Compression::Gzip), "COPY run.sh /app/")
}

/// gzip, zstd and plain layers in one image.
pub fn mixed_compression_image() -> ImageSpec {
    ImageSpec::new(&["mixed:1"])
        .layer(fixture::base_layer().compressed(Compression::Gzip), "ADD base (gzip)")
        .layer(LayerSpec::new().file("z/zstd.txt", "zstd layer\n".repeat(50)).compressed(Compression::Zstd), "ADD zstd")
        .layer(LayerSpec::new().file("p/plain.txt", "plain layer\n").whiteout("etc/hostname"), "ADD plain")
        .platform("linux", "arm", Some("v7"))
}

/// Long names (GNU and PAX), non-UTF-8 names, duplicate entries, trailing bytes after the
/// end-of-archive marker.
pub fn odd_names_image() -> ImageSpec {
    let long_dir = "deep/".repeat(40);
    let gnu = LayerSpec::new()
        .file(format!("{long_dir}gnu-long-name.txt"), "gnu long\n")
        .symlink("short-link", format!("{long_dir}gnu-long-name.txt"))
        .file(b"caf\xe9/na\xefve.txt".as_slice(), "latin-1 name\n")
        .file("dup.txt", "first\n")
        .file("dup.txt", "second\n");
    let mut pax = LayerSpec::new().file(format!("{long_dir}pax-long-name.txt"), "pax long\n").pax_names();
    pax.trailing = vec![0u8; 4096];
    ImageSpec::new(&["odd:names"]).layer(gnu, "odd names (gnu)").layer(pax, "odd names (pax)")
}

/// A report's verdicts, in order, with where they sit (for comparing runs).
pub fn verdicts(r: &Report) -> Vec<(String, String, Verdict)> {
    all_checks(r).into_iter().map(|(at, c)| (at, c.item, c.verdict)).collect()
}
