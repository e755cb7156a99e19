//! Every archive format and variant, written by the fixture builder, read back by strata.
//! Expected values come from the bytes the builder wrote (hashed here), never from strata.

mod common;

use common::*;
use strata::fixture::{self, Entry, ImageSpec, LayerSpec, Options, Tamper};
use strata::layer::EntryKind;
use strata::report::{ArchiveFormat, Compression, Report, Severity, Verdict};

#[test]
fn every_clean_fixture_verifies() {
    let mut failures = Vec::new();
    for (name, fx, oci) in clean_fixtures() {
        let result = std::panic::catch_unwind(|| {
            let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: open/verify failed: {e}"));
            assert_clean(name, &fx, &r, oci);
        });
        if let Err(e) = result {
            let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            failures.push(format!("--- {name}:\n{msg}"));
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn jib_camel_case_manifest_keys() {
    // Jib serialises manifest.json with Jackson field names: `config`, `repoTags`, `layers`
    // (jib-core DockerManifestEntryTemplate). Tags must be read from `repoTags`.
    for (name, fx, oci) in jib_fixtures() {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_clean(name, &fx, &r, oci);
    }
}

#[test]
fn short_reads_give_the_same_report() {
    let mut failures = Vec::new();
    for (name, fx, _) in all_fixtures() {
        let Ok((_, full)) = open_verify(&fx.bytes) else { continue };
        for max in [1usize, 7, 513, 4096] {
            // max=1 on big archives is slow; the small ones are enough for it.
            if max == 1 && fx.bytes.len() > 200_000 {
                continue;
            }
            match open_verify_short(&fx.bytes, max) {
                Ok(r) => {
                    if summary(&r) != summary(&full) {
                        failures.push(format!("{name} max={max}: report differs\n--- short:\n{}--- full:\n{}", summary(&r), summary(&full)));
                    }
                }
                Err(e) => failures.push(format!("{name} max={max}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn index_layers_then_verify_matches_verify_alone() {
    for (name, fx, _) in clean_fixtures() {
        let (_, a) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let b = open_index_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary(&a), summary(&b), "{name}");
    }
}

#[test]
fn formats_are_named() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    let cases = [
        (fixture::docker_legacy(&web, &Options::default()).bytes, ArchiveFormat::DockerLegacy),
        (fixture::docker_pre110(&web, &Options::default()).bytes, ArchiveFormat::DockerPre110),
        (fixture::docker_archive(&web, &Options::default()).bytes, ArchiveFormat::DockerArchive),
        (fixture::docker_oci(&web, &Options::default()).bytes, ArchiveFormat::DockerOci),
        (fixture::docker_containerd(&web, &Options::default()).bytes, ArchiveFormat::DockerOci),
        (fixture::oci_archive(&web, &Options::default(), true).bytes, ArchiveFormat::OciArchive),
    ];
    for (i, (bytes, want)) in cases.iter().enumerate() {
        let (_, r) = open_verify(bytes).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(r.archive.format, *want, "case {i}\n{}", summary(&r));
        assert_eq!(r.archive.compression, Compression::None);
    }
    let gz = fixture::compress(&cases[0].0, Compression::Gzip);
    let (_, r) = open_verify(&gz).expect("gzip archive");
    assert_eq!(r.archive.compression, Compression::Gzip);
    assert_eq!(r.archive.format, ArchiveFormat::DockerLegacy);
    assert_eq!(r.archive.size, gz.len() as u64);
}

#[test]
fn pre110_save_reads_tags_and_layers() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    let fx = fixture::docker_pre110(&web, &Options::default());
    let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("pre-1.10: {e}"));
    let sum = summary(&r);
    assert_eq!(r.images.len(), 2, "{sum}");
    for built in &fx.images {
        let img = r
            .images
            .iter()
            .find(|i| i.repo_tags == built.tags)
            .unwrap_or_else(|| panic!("no image tagged {:?}\n{sum}", built.tags));
        assert_eq!(img.layers.len(), built.layers.len(), "{sum}");
        for (got, want) in img.layers.iter().zip(&built.layers) {
            // No diff_ids are claimed in a pre-1.10 save; if strata shows one it must be the real one.
            if let Some(d) = &got.diff_id {
                assert_eq!(d, &fixture::digest(&want.tar), "{sum}");
            }
            assert_eq!(got.uncompressed_size, Some(want.tar.len() as u64), "{sum}");
        }
    }
    for (at, c) in all_checks(&r) {
        assert!(
            !matches!(c.verdict, Verdict::Mismatch { .. } | Verdict::SizeMismatch { .. } | Verdict::Missing),
            "{at}: {} {:?}\n{sum}",
            c.item,
            c.verdict
        );
    }
    assert!(!r.findings.iter().any(|f| f.severity == Severity::Error), "{sum}");
}

#[test]
fn shared_layers_are_one_blob() {
    let fx = fixture::docker_legacy(&[fixture::web_v1(), fixture::web_v2()], &Options::default());
    let (_, r) = open_verify(&fx.bytes).expect("open");
    let v1 = image_by_id(&r, &fx.images[0].id);
    let v2 = image_by_id(&r, &fx.images[1].id);
    assert_eq!(v1.layers[0].blob, v2.layers[0].blob, "{}", summary(&r));
    assert_eq!(v1.layers[1].blob, v2.layers[1].blob, "{}", summary(&r));
    assert_ne!(v2.layers[2].blob, v2.layers[1].blob);
}

#[test]
fn repeated_layer_symlink_is_followed() {
    let fx = fixture::docker_legacy(&[repeated_layer_image()], &Options::default());
    // The builder wrote the third layer.tar as a symlink to the first.
    let t = fixture::OuterTar::parse(&fx.bytes);
    assert!(t.entries.iter().any(|e| e.kind == fixture::Kind::Symlink), "builder wrote no symlink");
    let (_, r) = open_verify(&fx.bytes).expect("open");
    let img = &r.images[0];
    assert_eq!(img.layers[0].blob, img.layers[2].blob, "{}", summary(&r));
    assert!(img.verified, "{}", summary(&r));
}

#[test]
fn history_maps_to_layers() {
    let fx = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let (_, r) = open_verify(&fx.bytes).expect("open");
    let img = &r.images[0];
    let sum = summary(&r);
    assert_eq!(img.history.len(), 3, "{sum}");
    assert!(img.history[1].empty_layer);
    assert_eq!(img.layers[0].history, Some(0), "{sum}");
    assert_eq!(img.layers[1].history, Some(2), "{sum}");
    assert_eq!(img.history[0].layer, Some(0));
    assert_eq!(img.history[1].layer, None);
    assert_eq!(img.history[2].layer, Some(1));
    assert_eq!(img.history[2].created_by.as_deref(), Some("/bin/sh -c #(nop) COPY dir:app in /app "));
}

#[test]
fn history_count_mismatch_is_a_finding() {
    let spec = fixture::web_v1().layer_only(LayerSpec::new().file("extra", "x"));
    let fx = fixture::docker_oci(&[spec], &Options::default());
    let (_, r) = open_verify(&fx.bytes).expect("open");
    let sum = summary(&r);
    assert_eq!(r.images[0].layers.len(), 3, "{sum}");
    assert!(r.findings.iter().any(|f| f.message.to_lowercase().contains("history")), "no history finding\n{sum}");
    // The digests are all fine: the image still verifies.
    assert!(r.images[0].verified, "{sum}");
    // And no history at all is fine too.
    let spec = ImageSpec { no_history: true, ..fixture::web_v1() };
    let fx = fixture::docker_oci(&[spec], &Options::default());
    let (_, r) = open_verify(&fx.bytes).expect("open");
    assert!(r.images[0].verified, "{}", summary(&r));
    assert!(r.images[0].history.is_empty());
}

#[test]
fn config_fields_are_reported() {
    let fx = sample_fixture();
    let (_, r) = open_verify(&fx.bytes).expect("open sample");
    let v2 = image_by_id(&r, &fx.images[1].id);
    let c = &v2.config;
    assert_eq!(v2.repo_tags, vec!["strata-demo:2.0".to_string()]);
    assert!(c.env.contains(&"GREETING=hello".to_string()), "{:?}", c.env);
    assert_eq!(c.cmd.as_deref(), Some(&["/usr/bin/app".to_string()][..]));
    assert_eq!(c.working_dir.as_deref(), Some("/app"));
    assert_eq!(c.user.as_deref(), Some("app"));
    assert_eq!(c.exposed_ports, vec!["8080/tcp".to_string()]);
    assert_eq!(c.volumes, vec!["/app/data".to_string()]);
    assert_eq!(c.labels.get("org.opencontainers.image.version").map(String::as_str), Some("2.0"));
    assert_eq!(c.stop_signal.as_deref(), Some("SIGTERM"));
    assert!(c.healthcheck.is_some());
    assert_eq!(v2.os.as_deref(), Some("linux"));
    assert_eq!(v2.architecture.as_deref(), Some("amd64"));
    assert_eq!(v2.created.as_deref(), Some("2024-04-01T10:00:00Z"));
    let raw: serde_json::Value = serde_json::from_slice(&fx.images[1].config).expect("config json");
    assert_eq!(c.raw, raw);
    // Variant from an OCI archive.
    let fx = fixture::oci_archive(&[mixed_compression_image()], &Options::default(), true);
    let (_, r) = open_verify(&fx.bytes).expect("open");
    assert_eq!(r.images[0].architecture.as_deref(), Some("arm"));
    assert_eq!(r.images[0].variant.as_deref(), Some("v7"));
}

#[test]
fn sample_archive_is_a_good_teaching_sample() {
    let bytes = fixture::sample_archive();
    assert!(bytes.len() < 1024 * 1024, "sample is {} bytes", bytes.len());
    let (ar, r) = open_verify(&bytes).expect("open sample");
    assert!(r.all_verified(), "{}", summary(&r));
    let tags: Vec<String> = sorted(r.images.iter().flat_map(|i| i.repo_tags.clone()).collect());
    assert_eq!(tags, vec!["strata-demo:1.0".to_string(), "strata-demo:2.0".to_string()]);
    // The layers hold what the page wants to show.
    let v1 = r.images.iter().find(|i| i.repo_tags == ["strata-demo:1.0"]).expect("v1");
    let mut kinds = std::collections::BTreeSet::new();
    let mut names = Vec::new();
    for l in &v1.layers {
        let idx = ar.layer_index(l.blob.expect("blob")).expect("layer indexed by verify");
        for e in &idx.entries {
            kinds.insert(format!("{:?}", e.kind));
            names.push(String::from_utf8_lossy(&e.path).into_owned());
        }
    }
    for want in ["etc/os-release", "usr/bin/app", "app/config.json", "app/logo.png", "app/README.md", "var/cache/apk/.wh..wh..opq", "etc/.wh.hostname"] {
        assert!(names.iter().any(|n| n == want), "sample lacks {want}: {names:?}");
    }
    for k in ["File", "Dir", "Symlink", "Hardlink"] {
        assert!(kinds.contains(k), "sample lacks a {k}");
    }
    assert!(v1.history.iter().any(|h| h.empty_layer), "sample has no empty_layer history");
}

#[test]
fn layer_index_has_exact_raw_paths() {
    let fx = fixture::docker_oci(&[odd_names_image()], &Options::default());
    let (ar, r) = open_verify(&fx.bytes).expect("open");
    let img = &r.images[0];
    let l0 = ar.layer_index(img.layers[0].blob.expect("blob")).expect("indexed");
    let l1 = ar.layer_index(img.layers[1].blob.expect("blob")).expect("indexed");
    let long_dir = "deep/".repeat(40);
    let paths0: Vec<&[u8]> = l0.entries.iter().map(|e| &*e.path).collect();
    assert!(paths0.contains(&format!("{long_dir}gnu-long-name.txt").as_bytes()), "gnu long name lost");
    assert!(paths0.contains(&b"caf\xe9/na\xefve.txt".as_slice()), "non-UTF-8 name lost");
    assert_eq!(paths0.iter().filter(|p| **p == b"dup.txt").count(), 2, "duplicates must be kept");
    let link = l0.entries.iter().find(|e| &*e.path == b"short-link").expect("symlink");
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.link.as_deref(), Some(format!("{long_dir}gnu-long-name.txt").as_bytes()));
    assert!(l1.entries.iter().any(|e| &*e.path == format!("{long_dir}pax-long-name.txt").as_bytes()), "pax long name lost");
    assert_eq!(l1.uncompressed_size, fx.images[0].layers[1].tar.len() as u64);
}

#[test]
fn layer_index_matches_the_spec_and_contents_read_back() {
    for (name, fx) in [
        ("docker-oci", fixture::docker_oci(&[fixture::web_v1()], &Options::default())),
        ("containerd-gzip", fixture::docker_containerd(&[fixture::web_v1()], &Options::default())),
        ("legacy.tar.gz", {
            let f = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
            fixture::Fixture { bytes: fixture::compress(&f.bytes, Compression::Gzip), ..f }
        }),
    ] {
        let mut src = std::io::Cursor::new(fx.bytes.clone());
        let mut ar = strata::Archive::open(&mut src, &mut |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
        ar.verify(&mut src, &mut |_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = ar.report().clone();
        let spec = fixture::web_v1();
        for (k, l) in r.images[0].layers.iter().enumerate() {
            let blob = l.blob.expect("blob");
            let idx = ar.layer_index(blob).expect("indexed").clone();
            assert_eq!(idx.entries.len(), spec.layers[k].entries.len(), "{name} layer {k}");
            assert_eq!(l.entries, Some(idx.entries.len()), "{name} layer {k}");
            for (e, want) in idx.entries.iter().zip(&spec.layers[k].entries) {
                assert_eq!(&*e.path, &*strata::layer::normalize_path(&want.path), "{name}");
                assert_eq!(e.mode & 0o7777, want.mode, "{name}");
                assert_eq!(e.mtime, want.mtime, "{name}");
                if e.kind == EntryKind::File {
                    assert_eq!(e.size, want.data.len() as u64);
                    assert_eq!(e.content_hash, Some(xxhash_rust::xxh3::xxh3_64(&want.data)), "{name}");
                    let mut out = Vec::new();
                    std::io::Read::read_to_end(&mut ar.read_entry(&mut src, blob, e).expect("read_entry"), &mut out).expect("read");
                    assert_eq!(out, want.data, "{name}: content of {:?}", String::from_utf8_lossy(&e.path));
                }
            }
            // The whole layer stream is the exact tar the builder wrote.
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut ar.open_layer_stream(&mut src, blob).expect("layer stream"), &mut out).expect("read");
            assert_eq!(out, fx.images[0].layers[k].tar, "{name}: layer {k} stream");
        }
    }
}

// ----------------------------------------------------------------------------------------
// Tampering
// ----------------------------------------------------------------------------------------

/// The checks of image `img_id`'s layer `k`.
fn layer_verdicts(r: &Report, img_id: &str, k: usize) -> Vec<Verdict> {
    image_by_id(r, img_id).layers[k].checks.iter().map(|c| c.verdict.clone()).collect()
}

fn assert_other_image_ok(r: &Report, id: &str) {
    let img = image_by_id(r, id);
    assert!(img.verified, "untouched image {id} must still verify\n{}", summary(r));
}

#[test]
fn flipped_byte_in_plain_layer_is_a_precise_mismatch() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    // Layer 2 of web:v2 is only in web:v2; offset 600 is inside its first file's data.
    let t = Tamper::FlipLayerByte { image: 1, layer: 2, offset: 515 };
    for (name, fx) in [
        ("legacy", fixture::docker_legacy(&web, &Options::tamper(t.clone()))),
        ("docker-archive", fixture::docker_archive(&web, &Options::tamper(t.clone()))),
        ("docker-oci", fixture::docker_oci(&web, &Options::tamper(t.clone()))),
        ("docker-oci.gz", {
            let f = fixture::docker_oci(&web, &Options::tamper(t.clone()));
            fixture::Fixture { bytes: fixture::compress(&f.bytes, Compression::Gzip), ..f }
        }),
    ] {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: a mismatch must not stop the report: {e}"));
        let sum = summary(&r);
        let built = &fx.images[1].layers[2];
        let mut tampered = built.tar.clone();
        tampered[515] ^= 1;
        let expected = fixture::digest(&built.tar);
        let actual = fixture::digest(&tampered);
        let vs = layer_verdicts(&r, &fx.images[1].id, 2);
        assert!(
            vs.contains(&Verdict::Mismatch { expected: expected.clone(), actual: actual.clone() }),
            "{name}: want Mismatch {expected} vs {actual}, got {vs:?}\n{sum}"
        );
        assert!(!image_by_id(&r, &fx.images[1].id).verified, "{name}\n{sum}");
        assert_other_image_ok(&r, &fx.images[0].id);
        assert!(!r.all_verified());
        // The other layers of the tampered image are still ok.
        for k in 0..2 {
            assert!(layer_verdicts(&r, &fx.images[1].id, k).iter().all(Verdict::is_ok), "{name} layer {k}\n{sum}");
        }
    }
}

#[test]
fn flipped_byte_in_compressed_blob_is_a_digest_mismatch() {
    let spec = mixed_compression_image();
    for layer in [0usize, 1] {
        let fx = fixture::oci_archive(std::slice::from_ref(&spec), &Options::tamper(Tamper::FlipLayerByte { image: 0, layer, offset: 40 }), true);
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("layer {layer}: {e}"));
        let sum = summary(&r);
        let built = &fx.images[0].layers[layer];
        let mut stored = built.stored.clone();
        stored[40] ^= 1;
        let want = Verdict::Mismatch { expected: built.digest.clone(), actual: fixture::digest(&stored) };
        let vs = layer_verdicts(&r, &fx.images[0].id, layer);
        assert!(vs.contains(&want), "layer {layer}: want {want:?} in {vs:?}\n{sum}");
        assert!(!r.images[0].verified);
        // The next layer is still checked and fine.
        assert!(layer_verdicts(&r, &fx.images[0].id, 2).iter().all(Verdict::is_ok), "{sum}");
    }
}

#[test]
fn wrong_descriptor_size_is_a_size_mismatch() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    for (name, fx) in [
        ("docker-oci", fixture::docker_oci(&web, &Options::tamper(Tamper::LayerSize { image: 1, layer: 2, delta: 7 }))),
        ("oci-archive", fixture::oci_archive(&web, &Options::tamper(Tamper::LayerSize { image: 1, layer: 2, delta: -3 }), true)),
    ] {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        let real = fx.images[1].layers[2].stored.len() as u64;
        let claimed = if name == "docker-oci" { real + 7 } else { real - 3 };
        // Manifest digests change when sizes are tampered: find the image by config ID.
        let vs = layer_verdicts(&r, &fx.images[1].id, 2);
        assert!(vs.contains(&Verdict::SizeMismatch { expected: claimed, actual: real }), "{name}: {vs:?}\n{sum}");
        assert!(!image_by_id(&r, &fx.images[1].id).verified);
        assert_other_image_ok(&r, &fx.images[0].id);
    }
}

#[test]
fn missing_layer_blob_is_missing_and_the_report_goes_on() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    let t = Tamper::MissingLayer { image: 1, layer: 2 };
    for (name, fx) in [
        ("legacy", fixture::docker_legacy(&web, &Options::tamper(t.clone()))),
        ("docker-archive", fixture::docker_archive(&web, &Options::tamper(t.clone()))),
        ("docker-oci", fixture::docker_oci(&web, &Options::tamper(t.clone()))),
        ("oci-archive", fixture::oci_archive(&web, &Options::tamper(t.clone()), true)),
        ("docker-oci.zst", {
            let f = fixture::docker_oci(&web, &Options::tamper(t.clone()));
            fixture::Fixture { bytes: fixture::compress(&f.bytes, Compression::Zstd), ..f }
        }),
    ] {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        let img = image_by_id(&r, &fx.images[1].id);
        assert_eq!(img.layers.len(), 3, "{name}\n{sum}");
        let vs = layer_verdicts(&r, &fx.images[1].id, 2);
        assert!(vs.contains(&Verdict::Missing), "{name}: {vs:?}\n{sum}");
        assert!(!img.verified);
        assert_other_image_ok(&r, &fx.images[0].id);
    }
}

#[test]
fn bad_config_is_a_config_digest_mismatch() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    for (name, fx) in [
        ("legacy", fixture::docker_legacy(&web, &Options::tamper(Tamper::BadConfig { image: 0 }))),
        ("docker-oci", fixture::docker_oci(&web, &Options::tamper(Tamper::BadConfig { image: 0 }))),
        ("oci-archive", fixture::oci_archive(&web, &Options::tamper(Tamper::BadConfig { image: 0 }), false)),
    ] {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        let mut cfg = fx.images[0].config.clone();
        let pos = cfg.windows(4).position(|w| w == b"2024").expect("date");
        cfg[pos + 3] = if cfg[pos + 3] == b'5' { b'6' } else { b'5' };
        let want = Verdict::Mismatch { expected: fx.images[0].id.clone(), actual: fixture::digest(&cfg) };
        // The image is listed under the ID its manifest claims.
        let img = r.images.iter().find(|i| i.checks.iter().any(|c| c.verdict == want));
        assert!(img.is_some(), "{name}: want {want:?} on an image check\n{sum}");
        assert!(!img.expect("image").verified);
        assert_other_image_ok(&r, &fx.images[1].id);
    }
}

#[test]
fn missing_config_does_not_stop_the_report() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    for (name, fx) in [
        ("legacy", fixture::docker_legacy(&web, &Options::tamper(Tamper::MissingConfig { image: 0 }))),
        ("docker-oci", fixture::docker_oci(&web, &Options::tamper(Tamper::MissingConfig { image: 0 }))),
    ] {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        assert!(!r.all_verified(), "{name}\n{sum}");
        assert_other_image_ok(&r, &fx.images[1].id);
        let flagged = all_checks(&r).iter().any(|(_, c)| c.verdict == Verdict::Missing)
            || r.findings.iter().any(|f| f.severity == Severity::Error);
        assert!(flagged, "{name}: a missing config must be a Missing verdict or an error finding\n{sum}");
    }
}

#[test]
fn wrong_diff_id_in_config_is_a_diff_id_mismatch() {
    // Build the image, then rewrite its config's first diff_id (and rename the config so
    // its own digest stays right): only the diff_id check can catch it.
    let spec = fixture::web_v1();
    let built = spec.build();
    let mut cfg: serde_json::Value = serde_json::from_slice(&built.config).expect("config");
    let fake = fixture::digest(b"not the layer");
    cfg["rootfs"]["diff_ids"][0] = serde_json::json!(fake);
    let raw = serde_json::to_vec(&cfg).expect("json");
    let spec = ImageSpec { raw_config: Some(raw), ..spec };
    let fx = fixture::docker_oci(&[spec], &Options::default());
    let (_, r) = open_verify(&fx.bytes).expect("open");
    let sum = summary(&r);
    let want = Verdict::Mismatch { expected: fake, actual: fixture::digest(&fx.images[0].layers[0].tar) };
    assert!(all_checks(&r).iter().any(|(_, c)| c.verdict == want), "want {want:?}\n{sum}");
    assert!(!r.images[0].verified);
}

// ----------------------------------------------------------------------------------------
// Special cases of the formats
// ----------------------------------------------------------------------------------------

#[test]
fn foreign_layer_is_a_finding_not_a_failure() {
    let spec = ImageSpec::new(&["win:ltsc"])
        .layer(LayerSpec::new().file("Windows/System32/kernel32.dll", "foreign base"), "Apply image 10.0.17763")
        .layer(LayerSpec::new().file("app/app.exe", "MZ app"), "cmd /S /C copy app.exe")
        .platform("windows", "amd64", None);
    for (name, fx) in [
        ("legacy", fixture::docker_legacy(std::slice::from_ref(&spec), &Options { foreign: vec![(0, 0)], ..Default::default() })),
        ("docker-oci", fixture::docker_oci(std::slice::from_ref(&spec), &Options { foreign: vec![(0, 0)], ..Default::default() })),
    ] {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        let img = &r.images[0];
        assert_eq!(img.layers.len(), 2, "{name}\n{sum}");
        assert!(img.layers[0].foreign, "{name}: layer 0 must be foreign\n{sum}");
        assert!(!img.layers[1].foreign);
        for c in &img.layers[0].checks {
            assert!(
                !matches!(c.verdict, Verdict::Mismatch { .. } | Verdict::SizeMismatch { .. } | Verdict::Missing),
                "{name}: foreign layer check {} is {:?}\n{sum}",
                c.item,
                c.verdict
            );
        }
        assert!(img.layers[1].checks.iter().all(|c| c.verdict.is_ok()), "{name}\n{sum}");
        assert!(r.findings.iter().any(|f| f.message.to_lowercase().contains("foreign")), "{name}: no finding about the foreign layer\n{sum}");
        assert!(!r.findings.iter().any(|f| f.severity == Severity::Error), "{name}: a foreign layer is not an error\n{sum}");
    }
}

#[test]
fn containerd_store_attestations_and_absent_platforms() {
    let fx = fixture::docker_containerd(&[fixture::web_v1(), fixture::web_v2()], &Options::default());
    let (_, r) = open_verify(&fx.bytes).expect("open");
    let sum = summary(&r);
    assert_eq!(r.images.len(), 2, "attestation manifests and absent platforms are not images\n{sum}");
    for img in &r.images {
        assert_ne!(img.os.as_deref(), Some("unknown"), "{sum}");
        assert_ne!(img.architecture.as_deref(), Some("arm64"), "{sum}");
        assert!(img.verified, "{sum}");
        for l in &img.layers {
            assert_eq!(l.compression, Some(Compression::Gzip));
            assert_eq!(l.media_type.as_deref(), Some("application/vnd.oci.image.layer.v1.tar+gzip"));
        }
    }
    for absent in &fx.absent {
        let short = &fixture::hex_of(absent)[..12];
        assert!(
            r.findings.iter().any(|f| f.message.contains(short) || f.location.as_deref().is_some_and(|l| l.contains(short)) || f.message.contains("arm64")),
            "no finding about the absent platform manifest {absent}\n{sum}"
        );
    }
    assert!(r.all_verified(), "absent platforms are expected in a containerd-store save\n{sum}");
}

#[test]
fn manifest_digests_are_reported_for_oci_layouts() {
    let fx = fixture::oci_archive(&[mixed_compression_image(), fixture::web_v1()], &Options::default(), true);
    let (_, r) = open_verify(&fx.bytes).expect("open");
    for built in &fx.images {
        let img = image_by_id(&r, &built.id);
        assert_eq!(img.manifest_digest.as_deref(), Some(fixture::digest(&built.manifest).as_str()), "{}", summary(&r));
    }
}

#[test]
fn tampered_manifest_in_oci_layout_is_caught() {
    // Change the manifest blob's bytes (whitespace only: still valid JSON, same content).
    let fx = fixture::oci_archive(&[fixture::web_v1()], &Options::default(), false);
    let name = format!("blobs/sha256/{}", fixture::hex_of(&fx.images[0].manifest_digest));
    let mut m = fx.images[0].manifest.clone();
    m.push(b'\n');
    let bytes = fixture::replace_entry(&fx.bytes, &name, m.clone());
    let (_, r) = open_verify(&bytes).expect("open");
    let want = Verdict::Mismatch { expected: fx.images[0].manifest_digest.clone(), actual: fixture::digest(&m) };
    assert!(all_checks(&r).iter().any(|(_, c)| c.verdict == want), "want {want:?}\n{}", summary(&r));
    assert!(!r.all_verified());
}

#[test]
fn index_and_manifest_json_disagreement_is_reported() {
    // Docker 25 save where manifest.json lists web:v1 and web:v2 but index.json only v1.
    let fx = fixture::docker_oci(&[fixture::web_v1(), fixture::web_v2()], &Options::default());
    let mut t = fixture::OuterTar::parse(&fx.bytes);
    let index: serde_json::Value = serde_json::from_slice(&t.get("index.json").expect("index").data).expect("json");
    let mut index2 = index.clone();
    index2["manifests"].as_array_mut().expect("array").truncate(1);
    t.set_data("index.json", serde_json::to_vec(&index2).expect("json"));
    let (_, r) = open_verify(&t.to_bytes()).expect("open");
    let sum = summary(&r);
    assert_eq!(r.images.len(), 2, "manifest.json is preferred\n{sum}");
    assert!(r.findings.iter().any(|f| f.message.contains("index.json")), "no finding about the disagreement\n{sum}");
}

#[test]
fn docker25_null_manifests_in_index() {
    let fx = fixture::docker_oci(&[fixture::web_v1()], &Options::default());
    let bytes = fixture::replace_entry(&fx.bytes, "index.json", br#"{"schemaVersion":2,"manifests":null}"#.to_vec());
    let (_, r) = open_verify(&bytes).expect("open");
    assert_eq!(r.images.len(), 1, "{}", summary(&r));
    assert_eq!(r.images[0].id, fx.images[0].id);
    assert!(r.images[0].layers.iter().all(|l| l.checks.iter().all(|c| c.verdict.is_ok())), "{}", summary(&r));
}

#[test]
fn gzip_data_under_a_tar_name_is_detected_from_bytes() {
    // The whole archive gzip'd but called .tar, and a layer with gzip data called layer.tar.
    let fx = fixture::docker_legacy(&[kaniko_image()], &Options::default());
    let gz = fixture::compress(&fx.bytes, Compression::Gzip);
    let (_, r) = open_verify(&gz).expect("open");
    assert_clean("kaniko.tar(gzip)", &fx, &r, false);
}

#[test]
fn empty_layer_is_the_well_known_digest() {
    let empty = LayerSpec::new();
    let spec = ImageSpec::new(&["empty:1"]).layer(empty, "/bin/sh -c #(nop) WORKDIR /").layer(LayerSpec::new().file("a", "a"), "ADD a");
    let fx = fixture::docker_legacy(&[spec], &Options::default());
    assert_eq!(
        fx.images[0].layers[0].diff_id,
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
    );
    let (_, r) = open_verify(&fx.bytes).expect("open");
    assert_clean("empty-layer", &fx, &r, false);
}

#[test]
fn layer_with_special_entries() {
    let layer = LayerSpec::new()
        .entry(Entry::new("dev/null", fixture::Kind::Char { major: 1, minor: 3 }))
        .entry(Entry::new("run/fifo", fixture::Kind::Fifo))
        .entry(Entry::file("home/u/secret", "s").mode(0o600).owner(1000, 1000))
        .entry(Entry::file("usr/bin/su", "su").mode(0o4755));
    let fx = fixture::docker_oci(&[ImageSpec::new(&["special:1"]).layer(layer, "special")], &Options::default());
    let (ar, r) = open_verify(&fx.bytes).expect("open");
    assert_clean("special", &fx, &r, true);
    let idx = ar.layer_index(r.images[0].layers[0].blob.expect("blob")).expect("indexed");
    let null = idx.entries.iter().find(|e| &*e.path == b"dev/null").expect("dev/null");
    assert_eq!((null.kind, null.dev_major, null.dev_minor), (EntryKind::Char, 1, 3));
    let su = idx.entries.iter().find(|e| &*e.path == b"usr/bin/su").expect("su");
    assert_eq!(su.mode & 0o7777, 0o4755);
    let secret = idx.entries.iter().find(|e| &*e.path == b"home/u/secret").expect("secret");
    assert_eq!((secret.uid, secret.gid), (1000, 1000));
}

/// `STRATA_FIXTURE_DIR=/tmp/fx cargo test --test formats write_fixtures -- --ignored`
/// writes every fixture to a directory, for trying the CLI or the page by hand.
#[test]
#[ignore]
fn write_fixtures() {
    let dir = std::env::var("STRATA_FIXTURE_DIR").unwrap_or_else(|_| "target/fixtures".into());
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (name, fx, _) in all_fixtures() {
        std::fs::write(format!("{dir}/{name}.tar"), &fx.bytes).expect("write");
    }
    std::fs::write(format!("{dir}/sample.tar"), fixture::sample_archive()).expect("write");
}

#[test]
fn an_archive_with_no_images_is_not_all_verified() {
    // manifest.json `[]` (and nothing else), and an oci-archive whose only manifest is gone:
    // nothing was verified, so the report must not claim everything was.
    let mut w = fixture::TarWriter::new();
    w.file("manifest.json", "[]");
    let empty_manifest = w.finish();
    let oci = fixture::oci_archive(&[fixture::web_v1()], &Options::default(), false);
    let no_manifest = fixture::remove_entry(&oci.bytes, &format!("blobs/sha256/{}", fixture::hex_of(&oci.images[0].manifest_digest)));
    for (name, bytes) in [("manifest.json []", empty_manifest), ("oci-archive without its manifest", no_manifest)] {
        if let Ok((_, r)) = open_verify(&bytes) {
            assert!(!r.all_verified(), "{name}: zero images verified, yet all_verified()\n{}", summary(&r));
        }
    }
}

#[test]
fn duplicate_outer_entries_last_one_wins() {
    // `tar -r` appends; extraction keeps the last copy. A damaged copy appended after the
    // good one is what a consumer would get, so it must fail verification.
    let fx = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let layer = format!("{}/layer.tar", fx.images[0].v1_ids()[1]);
    let mut t = fixture::OuterTar::parse(&fx.bytes);
    let mut bad = t.get(&layer).expect("layer").clone();
    bad.data[515] ^= 1;
    t.push(bad.clone());
    let (_, r) = open_verify(&t.to_bytes()).expect("open");
    let want = Verdict::Mismatch { expected: fx.images[0].layers[1].diff_id.clone(), actual: fixture::digest(&bad.data) };
    assert!(all_checks(&r).iter().any(|(_, c)| c.verdict == want), "appended damaged copy: want {want:?}\n{}", summary(&r));
    // The other way round: a damaged copy first, the good one last: verified, but the
    // duplicate is worth a finding.
    let mut t = fixture::OuterTar::parse(&fx.bytes);
    let good = t.get(&layer).expect("layer").clone();
    t.set_data(&layer, bad.data.clone());
    t.push(good);
    let (_, r) = open_verify(&t.to_bytes()).expect("open");
    assert!(r.images[0].verified, "the last copy is the good one\n{}", summary(&r));
    assert!(!r.findings.is_empty(), "a duplicate entry must be a finding\n{}", summary(&r));
}

#[test]
fn docker25_manifest_json_bugs_are_findings() {
    // Docker 25.0: manifest.json with wrong layer order, or with no layers at all, while
    // index.json's manifest is right. Either way: a finding naming index.json, no panic.
    let fx = fixture::docker_oci(&[fixture::web_v2()], &Options::default());
    let t = fixture::OuterTar::parse(&fx.bytes);
    let m: serde_json::Value = serde_json::from_slice(&t.get("manifest.json").expect("manifest.json").data).expect("json");
    let mut reversed = m.clone();
    reversed[0]["Layers"].as_array_mut().expect("layers").reverse();
    let mut none = m.clone();
    none[0]["Layers"] = serde_json::json!([]);
    for (name, v) in [("reversed layers", reversed), ("no layers", none)] {
        let bytes = fixture::replace_entry(&fx.bytes, "manifest.json", serde_json::to_vec(&v).expect("json"));
        let (_, r) = open_verify(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        assert_eq!(r.images.len(), 1, "{name}\n{sum}");
        assert!(r.findings.iter().any(|f| f.message.contains("index.json") || f.location.as_deref().is_some_and(|l| l.contains("index.json"))), "{name}: no finding\n{sum}");
    }
}

#[test]
fn multi_platform_index_gives_one_image_per_platform() {
    // `skopeo copy --all` / BuildKit: index.json → a tagged image index → one manifest per
    // platform, every platform saved. Each platform is an image of its own, with the tag.
    let amd64 = fixture::web_v1().platform("linux", "amd64", None);
    let arm64 = fixture::web_v1().platform("linux", "arm64", Some("v8"));
    let fx = fixture::oci_archive_platforms(&[amd64, arm64], &Options::default());
    let (_, r) = open_verify(&fx.bytes).expect("open");
    let sum = summary(&r);
    assert_eq!(r.images.len(), 2, "{sum}");
    let platforms: Vec<_> = r.images.iter().map(|i| (i.architecture.clone(), i.variant.clone())).collect();
    assert_eq!(platforms, vec![(Some("amd64".into()), None), (Some("arm64".into()), Some("v8".into()))], "{sum}");
    for (img, built) in r.images.iter().zip(&fx.images) {
        assert_eq!(img.id, built.id, "{sum}");
        assert_eq!(img.repo_tags, r.images[0].repo_tags, "both platforms carry the index's tag\n{sum}");
        assert!(!img.repo_tags.is_empty(), "{sum}");
        assert!(img.verified, "{sum}");
    }
    assert_ne!(r.images[0].id, r.images[1].id, "the configs differ by platform\n{sum}");
    assert!(r.all_verified(), "{sum}");
}

/// A `docker save` written by hand: `layers` are (blob name under `blobs/sha256/`, stored
/// bytes), `diff_ids` the config's claims. Returns the archive and the config digest.
fn hand_made_save(layers: &[(String, Vec<u8>)], diff_ids: &[String]) -> (Vec<u8>, String) {
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .expect("config");
    let config_digest = fixture::digest(&config);
    let mut t = fixture::TarWriter::new();
    for (hex, bytes) in layers {
        t.file(format!("blobs/sha256/{hex}"), bytes);
    }
    t.file(format!("blobs/sha256/{}", fixture::hex_of(&config_digest)), &config);
    let layer_paths: Vec<String> = layers.iter().map(|(hex, _)| format!("blobs/sha256/{hex}")).collect();
    let manifest = serde_json::json!([{
        "Config": format!("blobs/sha256/{}", fixture::hex_of(&config_digest)),
        "RepoTags": ["docker.io/library/hand:made"],
        "Layers": layer_paths,
    }]);
    t.file("manifest.json", serde_json::to_vec(&manifest).expect("manifest"));
    (t.finish(), config_digest)
}

#[test]
fn a_blob_named_by_its_diff_id_does_not_keep_its_name() {
    // `blobs/sha256/<hex>` names the bytes as stored. A gzip'd layer stored under the digest
    // of its *uncompressed* tar breaks that promise (only root `<hex>.tar` names may be
    // either, as skopeo and Jib write them).
    let tar = LayerSpec::new().file("etc/hello", "hi\n").tar();
    let diff_id = fixture::digest(&tar);
    let stored = fixture::compress(&tar, Compression::Gzip);
    let (bytes, _) = hand_made_save(&[(fixture::hex_of(&diff_id).to_string(), stored.clone())], std::slice::from_ref(&diff_id));
    let (_, r) = open_verify(&bytes).expect("report");
    let sum = summary(&r);
    let checks = &r.images[0].layers[0].checks;
    let name = checks.iter().find(|c| c.item == "file name digest").unwrap_or_else(|| panic!("{sum}"));
    assert_eq!(name.verdict, Verdict::Mismatch { expected: diff_id.clone(), actual: fixture::digest(&stored) }, "{sum}");
    assert!(!r.images[0].verified, "{sum}");
}

#[test]
fn zero_byte_layers_are_empty_layers() {
    // An empty stream is an empty tar to Go's archive/tar and to umoci: diff_id e3b0c442….
    let empty_digest = fixture::digest(b"");
    for (name, stored) in [("plain", Vec::new()), ("gzip", fixture::compress(b"", Compression::Gzip))] {
        let blob = fixture::hex_of(&fixture::digest(&stored)).to_string();
        let (bytes, _) = hand_made_save(&[(blob, stored)], std::slice::from_ref(&empty_digest));
        let (ar, r) = open_verify(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        assert!(r.images[0].verified, "{name}\n{sum}");
        let blob = r.images[0].layers[0].blob.expect("blob");
        assert_eq!(ar.layer_index(blob).map(|ix| ix.entries.len()), Some(0), "{name}");
    }
}

#[test]
fn full_references_in_repo_tags_are_shown_short() {
    // skopeo and podman write `docker.io/library/hand:made`; docker shows `hand:made`.
    let tar = LayerSpec::new().file("a", "1").tar();
    let d = fixture::digest(&tar);
    let (bytes, _) = hand_made_save(&[(fixture::hex_of(&d).to_string(), tar)], std::slice::from_ref(&d));
    let (_, r) = open_verify(&bytes).expect("report");
    assert_eq!(r.images[0].repo_tags, ["hand:made"], "{}", summary(&r));
}

#[test]
fn wrong_config_size_is_a_size_mismatch() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    for (name, fx) in [
        ("docker-oci", fixture::docker_oci(&web, &Options::tamper(Tamper::ConfigSize { image: 0, delta: 7 }))),
        ("oci-archive", fixture::oci_archive(&web, &Options::tamper(Tamper::ConfigSize { image: 0, delta: -3 }), true)),
    ] {
        let (_, r) = open_verify(&fx.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let sum = summary(&r);
        let real = fx.images[0].config.len() as u64;
        let claimed = if name == "docker-oci" { real + 7 } else { real - 3 };
        let img = image_by_id(&r, &fx.images[0].id);
        let check = img.checks.iter().find(|c| c.item == "config size").unwrap_or_else(|| panic!("{name}: no config size check\n{sum}"));
        assert_eq!(check.verdict, Verdict::SizeMismatch { expected: claimed, actual: real }, "{name}\n{sum}");
        assert!(!img.verified, "{name}\n{sum}");
        assert_other_image_ok(&r, &fx.images[1].id);
    }
}
