//! Writes the archives the page tests drop on the page (`tests/out/page-fixtures/`),
//! using strata's own fixture builder. Run by `tests/page/run.sh` as
//! `cargo test --release --test page`; the node tests then read the files.

#[path = "../common/damage.rs"]
mod damage;
#[path = "../common/sparse.rs"]
mod sparse;

use std::path::PathBuf;
use strata::fixture::{self, ImageSpec, LayerSpec, Options, Tamper};
use strata::report::Compression;

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/out/page-fixtures");
    std::fs::create_dir_all(&dir).expect("create tests/out/page-fixtures");
    dir
}

fn write(name: &str, bytes: &[u8]) {
    std::fs::write(out_dir().join(name), bytes).expect("write fixture");
}

fn with_compression(spec: ImageSpec, c: Compression) -> ImageSpec {
    let mut s = spec;
    for l in &mut s.layers {
        l.compression = c;
    }
    s
}

/// An image whose every name-like field carries markup that must show up as text.
fn hostile() -> ImageSpec {
    ImageSpec::new(&["xss:<img src=x onerror=window.__pwned=1>"])
        .layer(
            LayerSpec::new()
                .dir("app")
                .file("app/<img src=x onerror=window.__pwned=2>.txt", "<script>window.__pwned=3</script>\n")
                .file("app/<script>window.__pwned=4<\u{2f}script>", "x")
                .file("app/page.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"window.__pwned=5\"><script>window.__pwned=6</script></svg>\n"),
            "/bin/sh -c echo '<script>window.__pwned=7</script>' > /app/x",
        )
        .env("EVIL=<img src=x onerror=window.__pwned=8>")
        .label("<script>window.__pwned=9</script>", "<img src=x onerror=window.__pwned=10>")
        .cmd(&["<b>bold</b>"])
}

/// One directory with many files, for the virtualised tree.
fn wide(n: usize) -> ImageSpec {
    let mut layer = LayerSpec::new().dir("many");
    for i in 0..n {
        layer = layer.file(format!("many/file-{i:06}.txt"), "");
    }
    ImageSpec::new(&["wide:latest"]).layer(layer, "/bin/sh -c touch /many/file-*")
}

/// Small files between big ones (3 MiB each): the page's index pass jumps over the big
/// files (it reads only headers), so only the hashing pass sees their bytes. Byte 2 000 000
/// of the first layer lies inside big-0.bin, in the first jump.
fn holes() -> ImageSpec {
    let big = |seed: u32| -> Vec<u8> { (0..3u32 << 20).map(|i| (i.wrapping_mul(2654435761).wrapping_add(seed) >> 24) as u8).collect() };
    let mut layer = LayerSpec::new();
    for k in 0..4u32 {
        layer = layer.file(format!("small-{k}.txt"), format!("small file {k}\n")).file(format!("big-{k}.bin"), big(k));
    }
    ImageSpec::new(&["holes:1"])
        .layer(layer, "/bin/sh -c make-files")
        .layer(LayerSpec::new().file("etc/second", "a second layer\n"), "/bin/sh -c echo a second layer > /etc/second")
}

/// Two layers big enough for the page to walk each in two parts at once (at least 32 MiB,
/// small files throughout). The middle of the first lies inside a tar file stored in the
/// layer, so the second part starts at that tar's own headers, never meets the first part,
/// and the first part walks on; the second layer's parts join.
fn split() -> ImageSpec {
    let filler = |n: usize, seed: usize| -> Vec<u8> { (0..n).map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8).collect() };
    let mut inner = fixture::TarWriter::new();
    for i in 0..2500 {
        inner.file(format!("inner/file-{i:04}"), filler(8000, i));
    }
    let mut first = LayerSpec::new().dir("dense");
    for i in 0..1800 {
        first = first.file(format!("dense/a-{i:04}"), filler(10_000 + i, i));
    }
    first = first.file("dense/nested.tar", inner.finish());
    for i in 0..400 {
        first = first.file(format!("dense/z-{i:04}"), format!("after the nested tar: {i}\n"));
    }
    let mut second = LayerSpec::new().dir("more");
    for i in 0..3600 {
        second = second.file(format!("more/f-{i:04}"), filler(10_000, i + 7));
    }
    second = second.file("more/last.txt", "the last file of the second layer\n");
    ImageSpec::new(&["split:1"])
        .layer(first, "/bin/sh -c make-dense-with-a-nested-tar")
        .layer(second, "/bin/sh -c make-more")
}

/// Many layers just over a MiB each (`LAYERS` of them, each a little smaller than the one
/// before, so the page hashes them in order): each layer's index and hash is a stream of
/// its own, more than the page opens through BYOB readers (readahead.js), so the later
/// ones go through default readers. Each layer writes `/etc/layer`.
const LAYERS: usize = 80;
fn many_layers() -> ImageSpec {
    let mut image = ImageSpec::new(&["many:layers"]);
    for k in 0..LAYERS {
        let size = (1536 << 10) - k * (4 << 10);
        let data: Vec<u8> = (0..size).map(|i| (i.wrapping_mul(2654435761).wrapping_add(k * 7919) >> 24) as u8).collect();
        let layer = LayerSpec::new().file(format!("layers/{k:02}.bin"), data).file("etc/layer", format!("layer {k}\n"));
        image = image.layer(layer, &format!("/bin/sh -c make-layer {k}"));
    }
    image
}

/// An image of `n` tiny layers (a blob each to index and to hash). Before the page bounded
/// its BYOB streams (readahead.js), 120 such layers could, and 400 did, hang it forever.
fn tiny_layers(n: usize) -> ImageSpec {
    let mut image = ImageSpec::new(&["tiny:layers"]);
    for k in 0..n {
        let layer = LayerSpec::new().file(format!("tiny/{k:03}.txt"), format!("tiny layer {k}\n")).file("etc/layer", format!("layer {k}\n"));
        image = image.layer(layer, &format!("/bin/sh -c make-tiny-layer {k}"));
    }
    image
}

#[test]
fn write_page_fixtures() {
    let v1 = fixture::web_v1();
    let v2 = fixture::web_v2();
    let plain = Options::default();
    write("sample.tar", &fixture::sample_archive());
    write("legacy.tar", &fixture::docker_legacy(std::slice::from_ref(&v1), &plain).bytes);
    write("docker25.tar", &fixture::docker_oci(&[v1.clone(), v2.clone()], &plain).bytes);
    write("multi-legacy.tar", &fixture::docker_legacy(&[v1.clone(), v2.clone()], &plain).bytes);
    write("containerd.tar", &fixture::docker_containerd(std::slice::from_ref(&v1), &plain).bytes);
    // One tag, two platforms (skopeo copy --all): each platform has its own /etc/arch.
    let platforms = [fixture::web_v1_for("amd64", None), fixture::web_v1_for("arm64", Some("v8"))];
    write("platforms.tar", &fixture::oci_archive_platforms(&platforms, &plain).bytes);
    write("oci-gzip.tar", &fixture::oci_archive(&[with_compression(v1.clone(), Compression::Gzip)], &plain, false).bytes);
    write("oci-zstd.tar", &fixture::oci_archive(&[with_compression(v2.clone(), Compression::Zstd)], &plain, true).bytes);
    // The gzip blob is what its digest says, but its stream is not what the config names.
    let mut wrong = with_compression(v1.clone(), Compression::Gzip);
    wrong.layers[0] = wrong.layers[0].clone().claims_diff_id(&fixture::digest(b"another stream"));
    write("oci-gzip-wrong-diff-id.tar", &fixture::oci_archive(&[wrong], &plain, false).bytes);
    let mut chunked = v2.clone();
    for l in &mut chunked.layers {
        *l = l.clone().compressed_by(Compression::Zstd, fixture::ZSTD_CHUNKED_SHAPE);
    }
    write("oci-zstd-chunked.tar", &fixture::oci_archive(&[chunked], &plain, false).bytes);
    let legacy_v2 = fixture::docker_legacy(std::slice::from_ref(&v2), &plain).bytes;
    write("whole.tar.gz", &fixture::compress(&legacy_v2, Compression::Gzip));
    write("v2-only.tar", &legacy_v2);
    write(
        "tampered.tar",
        &fixture::docker_legacy(std::slice::from_ref(&v1), &Options::tamper(Tamper::FlipLayerByte { image: 0, layer: 1, offset: 700 })).bytes,
    );
    write("hostile.tar", &fixture::docker_legacy(&[hostile()], &plain).bytes);
    write("holes.tar", &fixture::docker_legacy(&[holes()], &plain).bytes);
    write("split.tar", &fixture::docker_legacy(&[split()], &plain).bytes);
    write(
        "holes-tampered.tar",
        &fixture::docker_legacy(&[holes()], &Options::tamper(Tamper::FlipLayerByte { image: 0, layer: 0, offset: 2_000_000 })).bytes,
    );
    // gzip'd whole: the pass sends the 12 MiB layer to a helper to be hashed.
    let holes_tampered = fixture::docker_legacy(&[holes()], &Options::tamper(Tamper::FlipLayerByte { image: 0, layer: 0, offset: 2_000_000 })).bytes;
    write("holes.tar.gz", &fixture::compress(&fixture::docker_legacy(&[holes()], &plain).bytes, Compression::Gzip));
    write("holes-tampered.tar.gz", &fixture::compress(&holes_tampered, Compression::Gzip));
    write("tiny-layers.tar", &fixture::docker_legacy(&[tiny_layers(400)], &plain).bytes);
    write("many-layers.tar", &fixture::docker_legacy(&[many_layers()], &plain).bytes);
    // A byte of the last (smallest) layer flipped: hashed last, through a default reader.
    let last = Tamper::FlipLayerByte { image: 0, layer: LAYERS - 1, offset: 700_000 };
    write("many-layers-tampered.tar", &fixture::docker_legacy(&[many_layers()], &Options::tamper(last)).bytes);
    let mut truncated = fixture::docker_legacy(&[v1], &plain).bytes;
    truncated.truncate(truncated.len() / 2);
    write("truncated.tar", &truncated);
    write("not-an-archive.txt", b"This is a shopping list, not a container image.\nmilk\neggs\n");
    write("wide.tar", &fixture::docker_legacy(&[wide(100_000)], &plain).bytes);
    // Big enough that hashing takes a moment: the progress bar and Cancel can be seen.
    let data: Vec<u8> = (0..160u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let big = ImageSpec::new(&["big:1"]).layer(LayerSpec::new().file("blob.bin", data), "/bin/sh -c head -c 160M /dev/urandom > /blob.bin");
    write("big.tar", &fixture::docker_legacy(&[big], &plain).bytes);
    // Past 4 GiB (holes on disk): offsets past 2^32 through Blob.slice and the core.
    let written = sparse::write_past_4gib(&out_dir().join("past-4gib.tar")).expect("write past-4gib.tar");
    assert!(written.size > 1 << 32, "{} bytes", written.size);
    let facts = serde_json::json!({
        "image_id": written.image_id, "tag": sparse::TAG, "big_size": sparse::BIG_SIZE,
        "start": String::from_utf8_lossy(sparse::BIG_START), "end": String::from_utf8_lossy(sparse::BIG_END),
        "after": String::from_utf8_lossy(sparse::AFTER), "note": String::from_utf8_lossy(sparse::NOTE),
    });
    write("past-4gib.json", facts.to_string().as_bytes());
}

/// Big counts the page must draw without freezing (issue 20, finding 9): an image of 2 000
/// layers, one of 30 000 history entries, and a repository name of 100 KB.
#[test]
fn write_list_fixtures() {
    let plain = Options::default();
    let mut layers = ImageSpec::new(&["layers:2000"]);
    for k in 0..2000 {
        layers = layers.layer(LayerSpec::new().file(format!("l/{k:04}"), format!("{k}\n")), &format!("/bin/sh -c step {k}"));
    }
    write("two-thousand-layers.tar", &fixture::docker_oci(&[layers], &plain).bytes);
    let mut history = ImageSpec::new(&["history:30000"]).layer(LayerSpec::new().file("a", "a\n"), "/bin/sh -c #(nop) ADD file:abc in / ");
    for k in 0..30_000 {
        history = history.nop(&format!("/bin/sh -c #(nop)  ENV STEP={k}"));
    }
    write("long-history.tar", &fixture::docker_oci(&[history], &plain).bytes);
    let long_name = format!("{}:v1", "r".repeat(100_000));
    let named = ImageSpec::new(&[long_name.as_str()]).layer(LayerSpec::new().file("a", "a\n"), "ADD a /");
    write("long-name.tar", &fixture::docker_oci(&[named, fixture::web_v1()], &plain).bytes);
}

/// Archives written by real tools (umoci, skopeo, buildah: `tests/tools/make-real-archives.sh`)
/// into `real/`, with what the tools say about them and umoci's own unpacked filesystem, for
/// the page tests to drop. Without the tools this writes nothing (the page tests then skip
/// those archives), unless `STRATA_REQUIRE_TOOLS` is set: then it fails.
#[test]
fn write_real_tool_archives() {
    let present = |t: &str| std::process::Command::new(t).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    let missing: Vec<&str> = ["umoci", "skopeo"].into_iter().filter(|t| !present(t)).collect();
    let dir = out_dir().join("real");
    let _ = std::fs::remove_dir_all(&dir);
    if !missing.is_empty() {
        assert!(std::env::var_os("STRATA_REQUIRE_TOOLS").is_none(), "STRATA_REQUIRE_TOOLS is set but {missing:?} not installed");
        eprintln!("SKIPPED real-tool page archives: {missing:?} not installed");
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/make-real-archives.sh");
    let o = std::process::Command::new("bash").arg(&script).arg(&dir).output().expect("run make-real-archives.sh");
    assert!(o.status.success(), "make-real-archives.sh failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// Damaged copies of page fixtures (seeded, as `tests/fuzz.rs` damages them: header fields
/// in layers rewritten with fixed checksums, flipped bits, cut tails), for the page test
/// that drops each one and expects a report or a plain error, never a dead page.
#[test]
fn write_damaged_archives() {
    let dir = out_dir().join("damaged");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create damaged/");
    let plain = Options::default();
    let v1 = fixture::web_v1();
    let v2 = fixture::web_v2();
    let bases: Vec<(&str, Vec<u8>)> = vec![
        ("sample", fixture::sample_archive()),
        ("docker25", fixture::docker_oci(&[v1.clone(), v2.clone()], &plain).bytes),
        ("legacy", fixture::docker_legacy(std::slice::from_ref(&v1), &plain).bytes),
        ("oci-gzip", fixture::oci_archive(&[with_compression(v1.clone(), Compression::Gzip)], &plain, false).bytes),
        ("oci-zstd", fixture::oci_archive(&[with_compression(v2.clone(), Compression::Zstd)], &plain, true).bytes),
        ("whole-gz", fixture::compress(&fixture::docker_legacy(std::slice::from_ref(&v2), &plain).bytes, Compression::Gzip)),
        ("holes", fixture::docker_legacy(&[holes()], &plain).bytes),
    ];
    for (name, bytes) in bases {
        let t = damage::target(name, bytes);
        for k in 0..4u64 {
            let mut rng = damage::Rng(0x9a6e_0000 + k * 7919 + name.len() as u64);
            std::fs::write(dir.join(format!("{name}-{k}.tar")), damage::damaged(&t, &mut rng)).expect("write damaged archive");
        }
    }
}

/// One dpkg paragraph of a `status` file.
fn deb(name: &str, version: &str, source: Option<&str>) -> String {
    let source = source.map(|s| format!("Source: {s}\n")).unwrap_or_default();
    format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n{source}Version: {version}\nDescription: {name} for the page tests\n\n")
}

/// Packages of three kinds in different layers, for the Packages tab: a Debian base (dpkg
/// `status`), an `apt-get install` that upgrades one and adds one, a `pip install` (two
/// `.dist-info`), an npm tree (a scoped package, a name with markup, one with a bidi
/// override, a broken `package.json` that is a finding), and an `apt-get remove`.
fn packages_image() -> ImageSpec {
    let status = |debs: &[String]| debs.concat();
    let base = [deb("base-files", "12.4+deb12u5", None), deb("libc6", "2.36-9", Some("glibc")), deb("tzdata", "2024a-0+deb12u1", None), deb("zlib1g", "1:1.2.13.dfsg-1", Some("zlib"))];
    let upgraded = [deb("base-files", "12.4+deb12u5", None), deb("curl", "7.88.1-10+deb12u5", None), deb("libc6", "2.36-9+deb12u4", Some("glibc")), deb("tzdata", "2024a-0+deb12u1", None), deb("zlib1g", "1:1.2.13.dfsg-1", Some("zlib"))];
    let removed: Vec<String> = upgraded.iter().filter(|p| !p.starts_with("Package: tzdata\n")).cloned().collect();
    let site = "usr/local/lib/python3.11/site-packages";
    ImageSpec::new(&["pkgs:1"])
        .layer(
            LayerSpec::new()
                .file("usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n")
                .symlink("etc/os-release", "../usr/lib/os-release")
                .file("etc/debian_version", "12.5\n")
                .file("var/lib/dpkg/status", status(&base)),
            "/bin/sh -c #(nop) ADD file:4a1b2c in / ",
        )
        .layer(LayerSpec::new().file("var/lib/dpkg/status", status(&upgraded)), "/bin/sh -c apt-get install -y curl")
        .layer(
            LayerSpec::new()
                .file(format!("{site}/requests-2.31.0.dist-info/METADATA"), "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n\nbody\n")
                .file(format!("{site}/urllib3-2.0.7.dist-info/METADATA"), "Metadata-Version: 2.1\nName: urllib3\nVersion: 2.0.7\nLicense-Expression: MIT\n\n"),
            "/bin/sh -c pip install requests",
        )
        .layer(
            LayerSpec::new()
                .file("app/package.json", r#"{"name":"app","version":"1.0.0"}"#)
                .file("app/node_modules/left-pad/package.json", r#"{"name":"left-pad","version":"1.3.0","license":"WTFPL"}"#)
                .file("app/node_modules/@babel/core/package.json", r#"{"name":"@babel/core","version":"7.23.2","license":"MIT"}"#)
                .file("app/node_modules/xss/package.json", r#"{"name":"<img src=x onerror=window.__pwned=1>","version":"<b>1</b>","license":"MIT"}"#)
                .file("app/node_modules/bidi/package.json", "{\"name\":\"evil\u{202e}sj.txt\",\"version\":\"0.0.1\"}")
                .file("app/node_modules/broken/package.json", "{\"name\": \"broken\", "),
            "COPY app /app",
        )
        .layer(LayerSpec::new().file("var/lib/dpkg/status", status(&removed)), "/bin/sh -c apt-get remove -y tzdata")
}

/// The Packages tab's archive (`packages.tar`).
#[test]
fn write_packages_fixture() {
    write("packages.tar", &fixture::docker_legacy(&[packages_image()], &Options::default()).bytes);
}

/// Bytes that gzip to about half their size (like real layers): a pseudo-random byte, then
/// the same byte repeated, so the compressed layer is clearly smaller than the tar.
fn half_compressible(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let b = (x >> 24) as u8;
        out.extend_from_slice(&[b, (x >> 16) as u8, b, b]);
    }
    out.truncate(n);
    out
}

/// The page's states, counts and small screens (issue 23; tests/page/polish_state.test.js):
/// an oci-archive with big gzip layers (still verifying when Cancel is pressed, its
/// uncompressed size unknown until then); the same kind of archive with junk beside it
/// (.DS_Store, AppleDouble files in blobs/sha256/) and one layer damaged, so the counts have
/// something to agree on; an image that says what it runs and wastes many paths.
#[test]
fn write_polish_fixtures() {
    let plain = Options::default();
    let mut big = ImageSpec::new(&["big-gzip:1"]).entrypoint(&["/usr/bin/app"]).cmd(&["--serve"]).user("app").workdir("/srv").expose("8080/tcp");
    for k in 0..4u32 {
        let layer = LayerSpec::new().file(format!("data/part-{k}.bin"), half_compressible(24 << 20, k)).file(format!("etc/layer-{k}"), format!("layer {k}\n"));
        big = big.layer(layer, &format!("/bin/sh -c make-part {k}"));
    }
    write("oci-gzip-big.tar", &fixture::oci_archive(&[with_compression(big, Compression::Gzip)], &plain, false).bytes);

    // Every path of the base rewritten by the next layer: 60 wasted paths.
    let mut base = LayerSpec::new();
    let mut again = LayerSpec::new();
    for i in 0..60 {
        base = base.file(format!("srv/www/page-{i:02}.html"), format!("<p>first copy of page {i}</p>\n").repeat(20));
        again = again.file(format!("srv/www/page-{i:02}.html"), format!("<p>second copy {i}</p>\n"));
    }
    let runs = ImageSpec::new(&["runs:1"])
        .layer(base, "/bin/sh -c generate-pages")
        .layer(again, "/bin/sh -c generate-pages --again")
        .entrypoint(&["/docker-entrypoint.sh"])
        .cmd(&["nginx", "-g", "daemon off;"])
        .user("101:101")
        .workdir("/srv/www")
        .expose("80/tcp")
        .expose("443/tcp");
    write("runs-waste.tar", &fixture::docker_legacy(&[runs.clone()], &plain).bytes);

    // Junk beside an OCI archive, and (in a second copy) a damaged layer as well: the badge,
    // the findings and the Overview must give one count.
    let oci = fixture::oci_archive(&[fixture::web_v1()], &plain, false);
    let blob = oci.images[0].layers[0].digest.trim_start_matches("sha256:").to_owned();
    let junk = |bytes: &[u8]| -> Vec<u8> {
        let mut out = fixture::TarWriter::new();
        let mut input = tar::Archive::new(std::io::Cursor::new(bytes));
        for entry in input.entries().expect("read fixture") {
            let mut entry = entry.expect("entry");
            let path = entry.path().expect("path").to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).expect("data");
            if entry.header().entry_type().is_dir() {
                out.dir(path);
            } else {
                out.file(path, data);
            }
        }
        out.file(".DS_Store", b"\x00\x00\x00\x01Bud1".to_vec());
        out.file(format!("blobs/sha256/._{blob}"), b"\x00\x05\x16\x07AppleDouble".to_vec());
        out.finish()
    };
    write("junk.tar", &junk(&oci.bytes));
    let tampered = fixture::oci_archive(&[fixture::web_v1()], &Options::tamper(Tamper::FlipLayerByte { image: 0, layer: 0, offset: 100 }), false);
    write("junk-tampered.tar", &junk(&tampered.bytes));
}
