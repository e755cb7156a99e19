//! `strata check` (issue 26): every digest plus dive's rules, from flags and from dive's own
//! `.dive-ci` file, with a table, JSON and JUnit XML read back by a real XML parser.

use std::path::{Path, PathBuf};
use std::process::Command;
use strata::fixture::{self, ImageSpec, LayerSpec, Options, Tamper};

fn dir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!("strata-check-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&d).expect("tempdir");
    d
}

/// An image that wastes: 600 kB overwritten and 400 kB deleted above a 1 MB base.
fn wasteful() -> ImageSpec {
    ImageSpec::new(&["waste:1"])
        .layer(LayerSpec::new().dir("data").file("data/base.bin", vec![1u8; 1_000_000]), "ADD base /")
        .layer(LayerSpec::new().file("data/a.bin", vec![2u8; 600_000]).file("data/b.bin", vec![3u8; 400_000]), "COPY a b /data/")
        .layer(LayerSpec::new().file("data/a.bin", vec![4u8; 10]).whiteout("data/b.bin"), "RUN shrink")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

fn check(cwd: &Path, archive: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).current_dir(cwd).arg("check").arg(archive).args(args).output().expect("run");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn json_rules(stdout: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("json");
    v["images"][0]["rules"].as_array().expect("rules").iter().map(|r| (r["rule"].as_str().unwrap().to_string(), r["status"].as_str().unwrap().to_string())).collect()
}

fn status_of(rules: &[(String, String)], rule: &str) -> String {
    rules.iter().find(|(r, _)| r == rule).map(|(_, s)| s.clone()).unwrap_or_else(|| panic!("no rule {rule}: {rules:?}"))
}

#[test]
fn rules_from_flags_pass_and_fail() {
    let d = dir();
    let a = write(&d, "w.tar", &fixture::docker_archive(&[wasteful()], &Options::default()).bytes);
    // Wasted: 600 000 + 400 000 of 2 000 010 file bytes: efficiency 0.50; user waste the same
    // over the 1 000 010 bytes above the base.
    let (code, out, err) = check(&d, &a, &["--json", "--lowest-efficiency", "0.4", "--highest-wasted-bytes", "2MB", "--highest-user-wasted-percent", "disabled"]);
    assert_eq!(code, 0, "{out}{err}");
    let rules = json_rules(&out);
    assert_eq!(status_of(&rules, "verification"), "pass");
    assert_eq!(status_of(&rules, "lowestEfficiency"), "pass");
    assert_eq!(status_of(&rules, "highestWastedBytes"), "pass");
    assert_eq!(status_of(&rules, "highestUserWastedPercent"), "skip");
    // dive's camelCase flags, and limits the image passes.
    let (code, out, _) = check(&d, &a, &["--json", "--lowestEfficiency", "0.6", "--highestWastedBytes", "999kB", "--highestUserWastedPercent", "0.5"]);
    assert_eq!(code, 1);
    let rules = json_rules(&out);
    assert_eq!(status_of(&rules, "lowestEfficiency"), "fail");
    assert_eq!(status_of(&rules, "highestWastedBytes"), "fail");
    assert_eq!(status_of(&rules, "highestUserWastedPercent"), "fail");
    // Size and layer limits.
    let (code, out, _) = check(&d, &a, &["--json", "--max-layers", "2", "--max-size", "10MB", "--lowest-efficiency", "disabled", "--highest-user-wasted-percent", "disabled"]);
    assert_eq!(code, 1);
    let rules = json_rules(&out);
    assert_eq!(status_of(&rules, "maxLayers"), "fail");
    assert_eq!(status_of(&rules, "maxSize"), "pass");
}

#[test]
fn a_dive_ci_file_is_read_as_dive_reads_it() {
    let d = dir();
    let a = write(&d, "w.tar", &fixture::docker_archive(&[wasteful()], &Options::default()).bytes);
    let config = "rules:\n  # If the efficiency is measured below X%, mark as failed.\n  # Expressed as a ratio between 0-1.\n  lowestEfficiency: 0.45\n\n  # If the amount of wasted space is at least X or larger than X, mark as failed.\n  # Expressed in B, KB, MB, and GB.\n  highestWastedBytes: 1MB\n\n  # If the amount of wasted space makes up for X% or more of the image, mark as failed.\n  highestUserWastedPercent: disabled\n";
    std::fs::write(d.join(".dive-ci"), config).expect("write config");
    // Found in the working directory, as dive finds it.
    let (code, out, err) = check(&d, &a, &["--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let rules = json_rules(&out);
    assert_eq!(status_of(&rules, "lowestEfficiency"), "pass");
    assert_eq!(status_of(&rules, "highestWastedBytes"), "pass");
    assert_eq!(status_of(&rules, "highestUserWastedPercent"), "skip");
    // A stricter file named with --ci-config; a flag still wins over the file.
    let strict = write(&d, "strict.yaml", b"rules:\n  lowestEfficiency: \"0.9\"\n  highestWastedBytes: 500KB\n  highestUserWastedPercent: 0.1\n");
    let (code, out, _) = check(&d, &a, &["--json", "--ci-config", strict.to_str().unwrap(), "--highest-wasted-bytes", "disabled"]);
    assert_eq!(code, 1);
    let rules = json_rules(&out);
    assert_eq!(status_of(&rules, "lowestEfficiency"), "fail");
    assert_eq!(status_of(&rules, "highestWastedBytes"), "skip");
    assert_eq!(status_of(&rules, "highestUserWastedPercent"), "fail");
    // A malformed file is an error (exit 2) naming the line.
    let bad = write(&d, "bad.yaml", b"rules:\n  lowestEfficiency: lots\n");
    let (code, _, err) = check(&d, &a, &["--ci-config", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.yaml:2"), "{err}");
}

#[test]
fn a_tampered_archive_fails_verification_whatever_the_rules() {
    let d = dir();
    let opts = Options { tamper: vec![Tamper::FlipLayerByte { image: 0, layer: 1, offset: 600 }], ..Options::default() };
    let a = write(&d, "t.tar", &fixture::docker_archive(&[wasteful()], &opts).bytes);
    let junit = d.join("junit.xml");
    let (code, out, _) = check(&d, &a, &["--lowest-efficiency", "disabled", "--highest-user-wasted-percent", "disabled", "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("verification") && out.contains("FAIL"), "{out}");
    // The JUnit file, read back by Python's XML parser: the common shape CI reporters read.
    let script = r#"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == 'testsuites', root.tag
suites = root.findall('testsuite')
assert len(suites) == 1
cases = suites[0].findall('testcase')
assert int(suites[0].get('tests')) == len(cases)
failed = [c.get('name') for c in cases if c.find('failure') is not None]
skipped = [c.get('name') for c in cases if c.find('skipped') is not None]
assert int(suites[0].get('failures')) == len(failed)
print(' '.join(failed), '|', ' '.join(skipped))
"#;
    let out = Command::new("python3").arg("-c").arg(script).arg(&junit).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("verification |"), "{said}");
    assert!(said.contains("lowestEfficiency") && said.contains("highestUserWastedPercent"), "{said}");
}

#[test]
fn every_image_is_checked_and_names_reach_junit_escaped() {
    let d = dir();
    let hostile = ImageSpec::new(&["evil\u{1b}]0;x\u{7}:1"]).layer(LayerSpec::new().file("a", "a"), "ADD a /");
    let a = write(&d, "m.tar", &fixture::docker_archive(&[fixture::web_v1(), hostile], &Options::default()).bytes);
    let junit = d.join("junit.xml");
    let (code, out, err) = check(&d, &a, &["--junit", junit.to_str().unwrap(), "--json"]);
    assert!(code == 0 || code == 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["images"].as_array().map(|a| a.len()), Some(2));
    let xml = std::fs::read_to_string(&junit).expect("junit");
    assert!(!xml.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "no control characters in XML: {xml:?}");
    let out = Command::new("python3").args(["-c", "import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])"]).arg(&junit).output().expect("python3");
    assert!(out.status.success(), "well-formed: {}", String::from_utf8_lossy(&out.stderr));
    // The table escapes it too.
    let (_, table, _) = check(&d, &a, &[]);
    assert!(!table.contains('\u{1b}') && !table.contains('\u{7}'), "{table:?}");
}

#[test]
fn an_unreadable_archive_is_exit_2() {
    let d = dir();
    let a = write(&d, "x.tar", b"not an archive at all");
    let (code, _, err) = check(&d, &a, &[]);
    assert_eq!(code, 2);
    assert!(err.starts_with("strata: "), "{err}");
}
