//! Archives written by real tools (umoci, skopeo, buildah, gzip/zstd/xz), checked against
//! what the tools themselves report: `skopeo inspect --raw` / `--config --raw` of each
//! archive and the umoci OCI layout read here with serde_json. Never against numbers
//! copied from strata's own output.
//!
//! Skips (with a message) when umoci/skopeo are missing, unless `STRATA_REQUIRE_TOOLS` is
//! set (CI sets it), in which case missing tools fail the test.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::fixture;
use strata::report::{ArchiveFormat, Compression, Report};

fn tool_present(name: &str) -> bool {
    Command::new(name).arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// Run the script once per test binary; returns OUTDIR, or None when skipping.
fn real_archives() -> Option<PathBuf> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let required = std::env::var_os("STRATA_REQUIRE_TOOLS").is_some();
        let missing: Vec<&str> = ["umoci", "skopeo"].into_iter().filter(|t| !tool_present(t)).collect();
        if !missing.is_empty() {
            assert!(!required, "STRATA_REQUIRE_TOOLS is set but {missing:?} not installed (run ./build.sh setup)");
            eprintln!("SKIPPED real-tool tests: {missing:?} not installed (set STRATA_REQUIRE_TOOLS=1 to make this a failure)");
            return None;
        }
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("real-archives");
        let _ = std::fs::remove_dir_all(&out);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/make-real-archives.sh");
        let o = Command::new("bash").arg(&script).arg(&out).output().expect("run make-real-archives.sh");
        assert!(
            o.status.success(),
            "make-real-archives.sh failed ({}):\n{}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let status = std::fs::read_to_string(out.join("status")).unwrap_or_default();
        for line in status.lines().filter(|l| l.starts_with("skipped")) {
            eprintln!("real-tool archives: {line}");
        }
        Some(out)
    })
    .clone()
}

/// One archive the script wrote, with the tools' own description of it.
struct Real {
    name: String,
    bytes: Vec<u8>,
    kind: String,
    manifest_raw: Vec<u8>,
    manifest: Value,
    config_raw: Vec<u8>,
    config: Value,
    tags: Vec<String>,
}

fn load_all(dir: &Path) -> Vec<Real> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read outdir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".kind").map(str::to_string))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let read = |ext: &str| std::fs::read(dir.join(format!("{name}.{ext}"))).unwrap_or_else(|e| panic!("{name}.{ext}: {e}"));
            let manifest_raw = read("manifest.json");
            let config_raw = read("config.json");
            Real {
                bytes: read("tar"),
                kind: String::from_utf8_lossy(&read("kind")).trim().to_string(),
                manifest: serde_json::from_slice(&manifest_raw).expect("manifest json"),
                config: serde_json::from_slice(&config_raw).expect("config json"),
                tags: String::from_utf8_lossy(&read("tags")).lines().filter(|l| !l.is_empty()).map(str::to_string).collect(),
                manifest_raw,
                config_raw,
                name,
            }
        })
        .collect()
}

/// `docker.io/library/x:1` and `x:1` name the same image.
fn familiar(tag: &str) -> String {
    let t = tag.strip_prefix("docker.io/").unwrap_or(tag);
    t.strip_prefix("library/").unwrap_or(t).to_string()
}

fn compression_of_media_type(mt: &str) -> Compression {
    if mt.ends_with("+gzip") || mt.ends_with(".gzip") {
        Compression::Gzip
    } else if mt.ends_with("+zstd") {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Check one real archive's report against the tools' description.
fn check(real: &Real, r: &Report) {
    let name = &real.name;
    let sum = summary(r);
    assert_eq!(r.images.len(), 1, "{name}: one image\n{sum}");
    let img = &r.images[0];

    // Image ID: the sha256 of the config bytes skopeo extracted; skopeo's manifest agrees.
    let id = fixture::digest(&real.config_raw);
    assert_eq!(real.manifest["config"]["digest"].as_str(), Some(id.as_str()), "{name}: skopeo's manifest vs its config");
    assert_eq!(img.id, id, "{name}: image ID\n{sum}");

    // Tags we asked for are there (registry prefix aside).
    let shown: Vec<String> = img.repo_tags.iter().map(|t| familiar(t)).collect();
    for t in &real.tags {
        assert!(shown.contains(&familiar(t)), "{name}: tag {t} not in {:?}\n{sum}", img.repo_tags);
    }

    // Layers: count, digests, diff_ids, sizes, compression.
    let layers = real.manifest["layers"].as_array().expect("manifest layers");
    let diff_ids = real.config["rootfs"]["diff_ids"].as_array().expect("diff_ids");
    assert_eq!(img.layers.len(), layers.len(), "{name}: layer count\n{sum}");
    assert_eq!(layers.len(), diff_ids.len(), "{name}: the tool's manifest and config agree");
    for (k, (got, want)) in img.layers.iter().zip(layers).enumerate() {
        let digest = want["digest"].as_str().expect("digest");
        let size = want["size"].as_u64().expect("size");
        assert_eq!(got.diff_id.as_deref(), diff_ids[k].as_str(), "{name}: diff_id of layer {k}\n{sum}");
        match real.kind.as_str() {
            "oci-archive" => {
                assert_eq!(got.digest.as_deref(), Some(digest), "{name}: digest of layer {k}\n{sum}");
                assert_eq!(got.stored_size, Some(size), "{name}: size of layer {k}\n{sum}");
                let mt = want["mediaType"].as_str().expect("mediaType");
                assert_eq!(got.media_type.as_deref(), Some(mt), "{name}: media type of layer {k}");
                assert_eq!(got.compression, Some(compression_of_media_type(mt)), "{name}: compression of layer {k}\n{sum}");
            }
            _ => {
                // docker-archive stores layers uncompressed; skopeo's digest is of those bytes.
                if let Some(d) = &got.digest {
                    assert_eq!(d, digest, "{name}: digest of layer {k}\n{sum}");
                }
                assert_eq!(got.compression, Some(Compression::None), "{name}: layer {k}\n{sum}");
                assert_eq!(got.uncompressed_size, Some(size), "{name}: size of layer {k}\n{sum}");
            }
        }
    }

    // History ↔ layers, from the config the tool wrote.
    if let Some(history) = real.config["history"].as_array() {
        let made: Vec<usize> = history.iter().enumerate().filter(|(_, h)| h["empty_layer"].as_bool() != Some(true)).map(|(i, _)| i).collect();
        assert_eq!(img.history.len(), history.len(), "{name}: history length");
        if made.len() == img.layers.len() {
            for (k, l) in img.layers.iter().enumerate() {
                assert_eq!(l.history, Some(made[k]), "{name}: history of layer {k}\n{sum}");
            }
        }
    }

    // Manifest digest for OCI archives: the sha256 of the manifest bytes skopeo returned.
    if real.kind == "oci-archive" {
        assert_eq!(img.manifest_digest.as_deref(), Some(fixture::digest(&real.manifest_raw).as_str()), "{name}: manifest digest\n{sum}");
        assert_eq!(r.archive.format, ArchiveFormat::OciArchive, "{name}\n{sum}");
    } else {
        assert_eq!(r.archive.format, ArchiveFormat::DockerArchive, "{name}\n{sum}");
    }

    // Config values.
    let cfg = &real.config["config"];
    if let Some(cmd) = cfg["Cmd"].as_array() {
        let want: Vec<String> = cmd.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        assert_eq!(img.config.cmd.as_ref(), Some(&want), "{name}: Cmd");
    }
    if let Some(env) = cfg["Env"].as_array() {
        let want: Vec<String> = env.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
        assert_eq!(img.config.env, want, "{name}: Env");
    }

    assert!(img.verified, "{name}: not verified\n{sum}");
    assert!(r.all_verified(), "{name}: not all verified\n{sum}");
}

#[test]
fn real_tool_archives_match_what_the_tools_report() {
    let Some(dir) = real_archives() else { return };
    let all = load_all(&dir);
    let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
    for must in ["skopeo-docker", "skopeo-oci", "skopeo-docker-gz", "gnutar-layout"] {
        assert!(names.contains(&must), "the script did not write {must}: {names:?}");
    }
    let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
    if std::env::var_os("STRATA_REQUIRE_TOOLS").is_some() {
        for (what, name) in [("ok zst", "skopeo-docker-zst"), ("ok xz", "skopeo-docker-xz"), ("ok buildah", "buildah-docker")] {
            assert!(status.contains(what) && names.contains(&name), "STRATA_REQUIRE_TOOLS: {name} missing; status:\n{status}");
        }
    }
    let mut failures = Vec::new();
    for real in &all {
        let result = std::panic::catch_unwind(|| {
            let (_, r) = open_verify(&real.bytes).unwrap_or_else(|e| panic!("{}: {e}", real.name));
            check(real, &r);
            // The whole-archive compression is detected from the bytes (all named .tar).
            let want = strata::detect::compression(&real.bytes);
            let by_name = match real.name.rsplit('-').next() {
                Some("gz") => Compression::Gzip,
                Some("zst") => Compression::Zstd,
                Some("xz") => Compression::Xz,
                _ => Compression::None,
            };
            assert_eq!(want, by_name, "{}: the script's compression", real.name);
            assert_eq!(r.archive.compression, by_name, "{}: archive compression", real.name);
            // Short reads give the same report.
            let short = open_verify_short(&real.bytes, 777).unwrap_or_else(|e| panic!("{} (short reads): {e}", real.name));
            assert_eq!(summary(&short), summary(&r), "{}: short reads", real.name);
        });
        if let Err(e) = result {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            failures.push(format!("--- {}:\n{msg}", real.name));
        }
    }
    assert!(failures.is_empty(), "{} of {} real archives failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}

/// `zstd:chunked` layers (a zstd frame per file, skippable frames holding the table of
/// contents) as skopeo writes them: strata decompresses every layer to the bytes the `zstd`
/// tool gives, and reads a file from them.
#[test]
fn skopeo_zstd_chunked_layers_decode_like_the_zstd_tool() {
    let Some(dir) = real_archives() else { return };
    let path = dir.join("skopeo-oci-zstd-chunked.tar");
    let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
    if !path.exists() {
        assert!(std::env::var_os("STRATA_REQUIRE_TOOLS").is_none(), "STRATA_REQUIRE_TOOLS: no zstd:chunked archive; status:\n{status}");
        eprintln!("SKIPPED zstd:chunked: {status}");
        return;
    }
    let bytes = std::fs::read(&path).expect("read archive");
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("skopeo-oci-zstd-chunked.manifest")).expect("manifest")).expect("json");
    let mut blobs = std::collections::HashMap::new();
    let mut tar = tar::Archive::new(&bytes[..]);
    for entry in tar.entries().expect("outer tar") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).expect("blob");
        blobs.insert(name.trim_start_matches("./").to_string(), data);
    }
    let (ar, r) = open_verify(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let img = &r.images[0];
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(img.layers.len(), layers.len());
    for (k, want) in layers.iter().enumerate() {
        let digest = want["digest"].as_str().expect("digest");
        let stored = &blobs[&format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"))];
        assert!(stored.windows(4).any(|w| w == [0x50, 0x2a, 0x4d, 0x18]), "layer {k}: no skippable frame: not zstd:chunked?");
        let reference = fixture::pipe_through(&["zstd", "-dc"], stored);
        let got = &img.layers[k];
        assert_eq!(got.compression, Some(Compression::Zstd), "layer {k}");
        assert_eq!(got.uncompressed_size, Some(reference.len() as u64), "layer {k}");
        assert_eq!(got.entries, Some(count_layer_entries(stored)), "layer {k}");
        // The diff_id strata computed is the sha256 of what the zstd tool decompresses
        // (whether or not it matches the config's).
        let computed = got.checks.iter().find(|c| c.item == "diff_id").map(|c| match &c.verdict {
            strata::report::Verdict::Ok => got.diff_id.clone().unwrap_or_default(),
            strata::report::Verdict::Mismatch { actual, .. } => actual.clone(),
            other => panic!("layer {k}: diff_id {other:?}"),
        });
        assert_eq!(computed, Some(fixture::digest(&reference)), "layer {k}");
        for c in got.checks.iter().filter(|c| c.item != "diff_id") {
            assert!(c.verdict.is_ok(), "layer {k}: {c:?}");
        }
        // A file read by strata is the file in the zstd tool's tar.
        let mut tar = tar::Archive::new(&reference[..]);
        let mut last = None;
        for e in tar.entries().expect("layer tar") {
            let mut e = e.expect("entry");
            if e.header().entry_type().is_file() && e.size() > 0 {
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).expect("file");
                last = Some((e.path_bytes().into_owned(), data));
            }
        }
        let Some((name, want_bytes)) = last else { continue };
        let blob = got.blob.expect("blob");
        let index = ar.layer_index(blob).expect("layer index");
        let entry = index.entries.iter().find(|e| e.path.as_ref() == strip_dot(&name)).unwrap_or_else(|| panic!("layer {k}: {:?} not indexed", String::from_utf8_lossy(&name)));
        let mut src = std::io::Cursor::new(bytes.clone());
        let mut read = Vec::new();
        std::io::Read::read_to_end(&mut ar.read_entry(&mut src, blob, entry).expect("read_entry"), &mut read).expect("read");
        assert!(read == want_bytes, "layer {k}: {}", String::from_utf8_lossy(&name));
    }
}

/// A tar member name as strata indexes it (no leading `./`).
fn strip_dot(name: &[u8]) -> &[u8] {
    name.strip_prefix(b"./").unwrap_or(name)
}

/// Count the entries of a layer's uncompressed tar, decompressing here (flate2, or the
/// `zstd` binary) independently of strata.
fn count_layer_entries(stored: &[u8]) -> usize {
    let tar_bytes = match strata::detect::compression(stored) {
        Compression::Gzip => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(stored), &mut out).expect("gunzip");
            out
        }
        Compression::Zstd => fixture::pipe_through(&["zstd", "-dc"], stored),
        _ => stored.to_vec(),
    };
    tar::Archive::new(tar_bytes.as_slice()).entries().expect("entries").count()
}

#[test]
fn umoci_layout_layers_match_strata_layer_index() {
    let Some(dir) = real_archives() else { return };
    // The umoci layout: index.json → manifest → layers, read here.
    let layout = dir.join("layout");
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json")).expect("json");
    let mdesc = &index["manifests"][0];
    let mdigest = mdesc["digest"].as_str().expect("digest");
    let blob = |d: &str| std::fs::read(layout.join("blobs/sha256").join(fixture::hex_of(d))).expect("blob");
    let manifest_bytes = blob(mdigest);
    assert_eq!(fixture::digest(&manifest_bytes), mdigest);
    let manifest: Value = serde_json::from_slice(&manifest_bytes).expect("manifest");
    let layers = manifest["layers"].as_array().expect("layers");

    for archive in ["skopeo-oci.tar", "gnutar-layout.tar", "skopeo-docker.tar"] {
        let bytes = std::fs::read(dir.join(archive)).expect("archive");
        let (ar, r) = open_verify(&bytes).unwrap_or_else(|e| panic!("{archive}: {e}"));
        let img = &r.images[0];
        assert_eq!(img.layers.len(), layers.len(), "{archive}\n{}", summary(&r));
        if archive != "skopeo-docker.tar" {
            assert_eq!(img.manifest_digest.as_deref(), Some(mdigest), "{archive}: same manifest as the layout");
        }
        for (k, l) in layers.iter().enumerate() {
            let stored = blob(l["digest"].as_str().expect("digest"));
            let want = count_layer_entries(&stored);
            let idx = ar.layer_index(img.layers[k].blob.expect("blob")).expect("indexed");
            assert_eq!(idx.entries.len(), want, "{archive}: entries of layer {k}");
            assert_eq!(img.layers[k].entries, Some(want), "{archive}: entries of layer {k}");
        }
        // umoci wrote whiteouts for the deletions; they are in the index as entries.
        let all_paths: Vec<String> = img
            .layers
            .iter()
            .flat_map(|l| ar.layer_index(l.blob.expect("blob")).expect("indexed").entries.iter().map(|e| String::from_utf8_lossy(&e.path).into_owned()))
            .collect();
        assert!(all_paths.iter().any(|p| p == "etc/.wh.hostname"), "{archive}: umoci's whiteout of etc/hostname");
        assert!(all_paths.iter().any(|p| p == "app/.wh.main.txt"), "{archive}: umoci's whiteout of app/main.txt");
    }
}

#[test]
fn damaged_real_archives_give_precise_verdicts() {
    let Some(dir) = real_archives() else { return };
    let real = load_all(&dir).into_iter().find(|r| r.name == "skopeo-docker").expect("skopeo-docker");
    // Flip one byte inside the first layer's first file (offset 512+ of that layer) and
    // expect exactly the diff_id the tool reported, and the sha256 of the damaged bytes.
    let diff_id = real.config["rootfs"]["diff_ids"][0].as_str().expect("diff_id").to_string();
    let layer_name = format!("{}.tar", fixture::hex_of(&diff_id));
    let mut t = fixture::OuterTar::parse(&real.bytes);
    let original = t.get(&layer_name).expect("layer file").data.clone();
    // First regular file's data offset in the layer tar.
    let mut off = None;
    for e in tar::Archive::new(original.as_slice()).entries().expect("entries") {
        let e = e.expect("entry");
        if e.header().entry_type().is_file() && e.size() > 0 {
            off = Some(e.raw_file_position() as usize);
            break;
        }
    }
    let off = off.expect("a file in the base layer");
    t.flip_byte(&layer_name, off);
    let mut damaged = original.clone();
    damaged[off] ^= 1;
    let (_, r) = open_verify(&t.to_bytes()).expect("open damaged");
    let want = strata::report::Verdict::Mismatch { expected: diff_id.clone(), actual: fixture::digest(&damaged) };
    assert!(all_checks(&r).iter().any(|(_, c)| c.verdict == want), "want {want:?}\n{}", summary(&r));
    assert!(!r.all_verified());
    // The same damage inside the gzip'd copy.
    let gz = fixture::compress(&t.to_bytes(), Compression::Gzip);
    let (_, r) = open_verify(&gz).expect("open damaged gz");
    assert!(all_checks(&r).iter().any(|(_, c)| c.verdict == want), "gzip: want {want:?}\n{}", summary(&r));
}

#[test]
fn skopeo_multi_platform_archive_gives_one_image_per_platform() {
    let Some(dir) = real_archives() else { return };
    let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
    if !status.contains("ok multi-platform") {
        assert!(std::env::var_os("STRATA_REQUIRE_TOOLS").is_none(), "STRATA_REQUIRE_TOOLS: multi-platform missing; status:\n{status}");
        eprintln!("SKIPPED: the script wrote no multi-platform archive:\n{status}");
        return;
    }
    let bytes = std::fs::read(dir.join("multi-platform.tar")).expect("multi-platform.tar");
    let (_, r) = open_verify(&bytes).expect("open");
    let sum = summary(&r);
    // What skopeo says: per platform, the config digest (the image ID).
    let want: Vec<(String, String)> = std::fs::read_to_string(dir.join("multi-platform.platforms"))
        .expect("platforms")
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(p, id)| (p.to_string(), id.to_string())))
        .collect();
    assert_eq!(want.len(), 2, "{want:?}");
    let got: Vec<(String, String)> = r.images.iter().map(|i| (i.platform(), i.id.clone())).collect();
    assert_eq!(got, want, "{sum}");
    // The manifests are those skopeo's index lists, in its order.
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("multi-platform.index.json")).expect("index")).expect("index json");
    let listed: Vec<Option<String>> = index["manifests"].as_array().expect("manifests").iter().map(|m| m["digest"].as_str().map(str::to_string)).collect();
    assert_eq!(r.images.iter().map(|i| i.manifest_digest.clone()).collect::<Vec<_>>(), listed, "{sum}");
    for img in &r.images {
        assert_eq!(img.repo_tags.iter().map(|t| familiar(t)).collect::<Vec<_>>(), vec!["strata/multi:1.0".to_string()], "{sum}");
        assert!(img.verified, "{sum}");
    }
    assert!(r.all_verified(), "{sum}");
}
