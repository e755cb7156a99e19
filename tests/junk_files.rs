//! Junk beside the image: an archive unpacked on a Mac (or Windows) and packed again by hand
//! carries `.DS_Store`, AppleDouble `._*` files, `__MACOSX/`, `Thumbs.db`. They are not part
//! of any image: each is an info finding (`junk_file`), never a digest failure — a
//! `blobs/sha256/._<hex>` file used to be "blob content does not match its name" and failed
//! the CLI's verdict (issue 23, item 4).

mod common;

use common::*;
use std::io::{Cursor, Read};
use std::process::Command;
use strata::fixture::{self, Options};
use strata::report::{Compression, Report, Severity};

/// `archive` with `junk` (path, bytes) appended as regular files, as `tar` would add them.
fn with_junk(archive: &[u8], junk: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    let mut input = tar::Archive::new(Cursor::new(archive));
    for entry in input.entries().expect("read the fixture") {
        let mut entry = entry.expect("fixture entry");
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("fixture entry data");
        out.append(&header, data.as_slice()).expect("copy entry");
    }
    for (path, bytes) in junk {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        out.append_data(&mut header, path, *bytes).expect("add junk");
    }
    out.into_inner().expect("finish tar")
}

fn junk_findings(report: &Report) -> Vec<(Severity, String)> {
    report
        .findings
        .iter()
        .filter(|f| f.code.as_str() == "junk_file")
        .map(|f| (f.severity, f.location.clone().unwrap_or_default()))
        .collect()
}

fn codes(report: &Report) -> Vec<&'static str> {
    report.findings.iter().map(|f| f.code.as_str()).collect()
}

fn strata(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strata")).args(args).output().expect("run strata")
}

fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-junk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write archive");
    path
}

/// An OCI archive whose `blobs/sha256/` holds AppleDouble files named after real blobs and a
/// `.DS_Store`: the image verifies, the junk is four info findings, nothing is a mismatch.
#[test]
fn junk_in_an_oci_archive_is_a_mild_finding_not_a_digest_failure() {
    let clean = fixture::oci_archive(&[fixture::web_v1()], &Options::default(), false);
    let blob = clean.images[0].layers[0].digest.strip_prefix("sha256:").unwrap().to_owned();
    let apple_double = format!("blobs/sha256/._{blob}");
    let archive = with_junk(
        &clean.bytes,
        &[
            (&apple_double, b"\x00\x05\x16\x07 AppleDouble"),
            ("blobs/sha256/.DS_Store", b"\x00\x00\x00\x01Bud1"),
            (".DS_Store", b"\x00\x00\x00\x01Bud1"),
            ("__MACOSX/._index.json", b"\x00\x05\x16\x07"),
        ],
    );
    let (_, report) = open_verify(&archive).expect("open and verify");
    assert!(report.all_verified(), "junk must not fail the verdict: {:?}", codes(&report));
    assert!(!codes(&report).contains(&"blob_name_mismatch"), "{:?}", codes(&report));
    let mut junk = junk_findings(&report);
    junk.sort_by(|a, b| a.1.cmp(&b.1));
    let expected: Vec<(Severity, String)> = {
        let mut v: Vec<(Severity, String)> = [".DS_Store", "__MACOSX/._index.json", "blobs/sha256/.DS_Store", apple_double.as_str()]
            .iter()
            .map(|p| (Severity::Info, p.to_string()))
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v
    };
    assert_eq!(junk, expected);
    // The finding names the file and says what it is.
    let f = report.findings.iter().find(|f| f.location.as_deref() == Some(".DS_Store")).unwrap();
    assert!(f.message.contains(".DS_Store is not part of any image"), "{}", f.message);

    // The same archive gzip'd is read in one streaming pass: the same findings.
    let (_, gz) = open_verify(&fixture::compress(&archive, Compression::Gzip)).expect("open the gzip copy");
    assert!(gz.all_verified(), "{:?}", codes(&gz));
    assert_eq!(junk_findings(&gz).len(), 4);

    // Without the junk the same archive has no finding at all (the finding is the junk's).
    let (_, plain) = open_verify(&clean.bytes).unwrap();
    assert!(junk_findings(&plain).is_empty());
}

/// `docker save` archives too, and the CLI: exit 0, the junk listed as info.
#[test]
fn junk_beside_a_docker_save_archive_keeps_the_cli_verdict() {
    let clean = fixture::docker_legacy(&[fixture::web_v1()], &Options::default());
    let archive = with_junk(&clean.bytes, &[(".DS_Store", b"Bud1"), ("._manifest.json", b"\x00\x05\x16\x07"), ("Thumbs.db", b"x")]);
    let (_, report) = open_verify(&archive).unwrap();
    assert!(report.all_verified(), "{:?}", codes(&report));
    assert_eq!(junk_findings(&report).len(), 3);

    let path = temp_file("legacy-junk.tar", &archive);
    let out = strata(&["inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stdout: {}\nstderr: {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let json = strata(&["inspect", path.to_str().unwrap(), "--json"]);
    assert_eq!(json.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let junk: Vec<&serde_json::Value> = v["findings"].as_array().unwrap().iter().filter(|f| f["code"] == "junk_file").collect();
    assert_eq!(junk.len(), 3);
    assert!(junk.iter().all(|f| f["severity"] == "info"));
    assert_eq!(junk[0]["params"]["path"], ".DS_Store");
}

/// A real blob with a wrong name is still a digest failure: only junk names are spared.
#[test]
fn a_misnamed_blob_is_still_a_mismatch() {
    let clean = fixture::oci_archive(&[fixture::web_v1()], &Options::default(), false);
    let wrong = format!("blobs/sha256/{}", "ab".repeat(32));
    let archive = with_junk(&clean.bytes, &[(&wrong, b"not what the name says")]);
    let (_, report) = open_verify(&archive).unwrap();
    assert!(codes(&report).contains(&"blob_name_mismatch"));
    assert!(!report.all_verified());
    assert!(junk_findings(&report).is_empty());
}

#[test]
fn junk_names() {
    use strata::resolve::is_junk_name;
    for junk in [".DS_Store", "blobs/sha256/.DS_Store", "._manifest.json", "blobs/sha256/._abc", "__MACOSX/x", "a/__MACOSX/b", "Thumbs.db", "thumbs.db", "Desktop.ini"] {
        assert!(is_junk_name(junk), "{junk}");
    }
    for fine in ["manifest.json", "blobs/sha256/abc", "a/.DS_Store_not", "x._y", "__MACOSX_not/x", ".wh..wh..opq", "index.json"] {
        assert!(!is_junk_name(fine), "{fine}");
    }
}
