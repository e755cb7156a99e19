//! The core speaks in codes (issue 21): every code has an English and a Chinese text with
//! the parameters its Rust template uses; `inspect --json` carries codes and parameters
//! beside every old field; the README lists every code.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::codes::{placeholders, Code, Message};
use strata::fixture::{self, LayerSpec, Options, Tamper};
use strata::report::Compression;
use strata::{Archive, Error};

const LANGS: [&str; 2] = ["en", "zh-CN"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn catalog(lang: &str) -> serde_json::Map<String, Value> {
    let path = root().join("www/locales").join(lang).join("core.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => map,
        other => panic!("{}: not a JSON object: {other:?}", path.display()),
    }
}

fn names(text: &str) -> BTreeSet<&str> {
    placeholders(text).collect()
}

#[test]
fn codes_are_unique_and_named_in_snake_case() {
    let mut seen = BTreeSet::new();
    for code in Code::ALL {
        let name = code.as_str();
        assert!(seen.insert(name), "{name} is used twice");
        assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{name}");
        assert_eq!(Code::from_name(name), Some(*code));
        assert_eq!(serde_json::to_value(code).unwrap(), Value::String(name.to_owned()));
    }
}

#[test]
fn every_code_has_an_english_and_a_chinese_text_with_the_templates_parameters() {
    for lang in LANGS {
        let cat = catalog(lang);
        let mut missing = Vec::new();
        for code in Code::ALL {
            let key = format!("code.{code}");
            let Some(text) = cat.get(&key).and_then(Value::as_str) else {
                missing.push(key);
                continue;
            };
            assert!(!text.trim().is_empty(), "{lang} {key} is empty");
            let want: BTreeSet<&str> = code.param_names().into_iter().collect();
            assert_eq!(names(text), want, "{lang} {key}: {text:?} vs the template {:?}", code.template());
        }
        assert!(missing.is_empty(), "{lang}/core.json lacks {missing:?}");
        // Nothing stale: every code.* key is a code the core has.
        for key in cat.keys() {
            let name = key.strip_prefix("code.").unwrap_or_else(|| panic!("{lang}: {key} is not a code key"));
            assert!(Code::from_name(name).is_some(), "{lang}/core.json has {key}, which the core no longer produces");
        }
    }
    // The Chinese catalog is Chinese: each text that is more than a parameter or a code
    // word holds CJK characters (a forgotten copy of the English would not).
    let zh = catalog("zh-CN");
    for code in Code::ALL {
        let text = zh[&format!("code.{code}")].as_str().unwrap();
        let words: String = text.split(['{', '}', '`']).collect();
        let bare = code.template().chars().all(|c| !c.is_alphabetic()) || code.param_names().len() == 1 && text.trim() == "{detail}";
        assert!(bare || text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "zh-CN code.{code} is not Chinese: {words:?}");
    }
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("codes");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn inspect_json(path: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_strata")).args(["inspect", "--json"]).arg(path).output().expect("run strata");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// A message as the JSON carries it, read back through the core's own type.
fn message(code: &Value, params: &Value) -> Message {
    serde_json::from_value(serde_json::json!({ "code": code, "params": params })).unwrap_or_else(|e| panic!("{e}: {code} {params}"))
}

/// Every finding and check of a report: codes beside the old fields, and the English
/// generated from them.
fn assert_coded(report: &Value) {
    for key in ["archive", "verification_done", "images", "findings"] {
        assert!(report.get(key).is_some(), "report lost {key}");
    }
    for f in report["findings"].as_array().unwrap() {
        for key in ["severity", "message", "location", "code", "params"] {
            assert!(f.get(key).is_some(), "finding without {key}: {f}");
        }
        assert!(f["params"].is_object(), "{f}");
        assert_eq!(message(&f["code"], &f["params"]).english(), f["message"].as_str().unwrap(), "{f}");
    }
    for image in report["images"].as_array().unwrap() {
        for key in ["index", "repo_tags", "id", "manifest_digest", "created", "os", "architecture", "variant", "size", "stored_size", "verified", "source", "checks", "layers", "config", "history"] {
            assert!(image.get(key).is_some(), "image lost {key}");
        }
        let layer_checks = image["layers"].as_array().unwrap().iter().flat_map(|l| {
            for key in ["index", "digest", "diff_id", "media_type", "compression", "path", "stored_size", "uncompressed_size", "entries", "foreign", "history", "blob", "checks"] {
                assert!(l.get(key).is_some(), "layer lost {key}: {l}");
            }
            l["checks"].as_array().unwrap().iter()
        });
        for c in image["checks"].as_array().unwrap().iter().chain(layer_checks) {
            let code = Code::from_name(c["code"].as_str().unwrap_or_else(|| panic!("check without a code: {c}"))).unwrap();
            assert_eq!(c["item"].as_str(), Some(code.template()), "{c}");
            assert!(c["verdict"].is_string(), "{c}");
            if c["verdict"] == "not_checkable" {
                assert!(c["why_params"].is_object(), "{c}");
                assert_eq!(message(&c["why_code"], &c["why_params"]).english(), c["why"].as_str().unwrap(), "{c}");
            }
        }
    }
}

fn findings_with<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["code"] == code).collect()
}

fn all_checks(report: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for image in report["images"].as_array().unwrap() {
        out.extend(image["checks"].as_array().unwrap());
        for l in image["layers"].as_array().unwrap() {
            out.extend(l["checks"].as_array().unwrap());
        }
    }
    out
}

#[test]
fn a_damaged_archives_findings_and_checks_carry_codes_and_params() {
    let web = [fixture::web_v1(), fixture::web_v2()];
    let opts = Options {
        tamper: vec![Tamper::MissingLayer { image: 1, layer: 2 }, Tamper::ConfigSize { image: 0, delta: 7 }],
        ..Options::default()
    };
    let fx = fixture::docker_oci(&web, &opts);
    let report = inspect_json(&write("damaged-oci.tar", &fx.bytes));
    assert_coded(&report);

    let missing = findings_with(&report, "layer_missing");
    assert!(!missing.is_empty(), "{report:#}");
    let m = missing[0];
    assert_eq!(m["severity"], "error");
    assert_eq!(m["params"]["layer"], 2, "{m}");
    // The reason is a coded message of its own.
    assert_eq!(m["params"]["why"]["code"], "path_not_in_archive", "{m}");
    assert!(m["params"]["why"]["params"]["path"].as_str().is_some_and(|p| p.starts_with("blobs/sha256/")), "{m}");
    assert!(m["message"].as_str().unwrap().starts_with("layer 2 is missing: blobs/sha256/"), "{m}");

    let size = findings_with(&report, "config_size_mismatch");
    assert_eq!(size.len(), 1, "{report:#}");
    let (expected, actual) = (&size[0]["params"]["expected"], &size[0]["params"]["actual"]);
    assert!(expected.is_u64() && actual.is_u64() && expected.as_u64().unwrap() == actual.as_u64().unwrap() + 7, "{}", size[0]);

    let checks = all_checks(&report);
    let config_size = checks.iter().find(|c| c["code"] == "config_size" && c["verdict"] == "size_mismatch").expect("config size check");
    assert_eq!(config_size["item"], "config size");
    assert!(checks.iter().any(|c| c["code"] == "layer_blob" && c["verdict"] == "missing"), "{checks:#?}");
    assert!(checks.iter().any(|c| c["code"] == "blob_digest" && c["verdict"] == "ok"));
    assert!(checks.iter().any(|c| c["code"] == "diff_id" && c["verdict"] == "ok"));
}

#[test]
fn an_unreadable_layer_is_not_checkable_for_a_coded_reason() {
    let spec = fixture::ImageSpec::new(&["gz:1"]).layer(
        LayerSpec::new().file("etc/hello", "hello\n".repeat(200)).compressed(Compression::Gzip),
        "/bin/sh -c echo hello",
    );
    let fx = fixture::oci_archive(&[spec], &Options::tamper(Tamper::FlipLayerByte { image: 0, layer: 0, offset: 40 }), false);
    let report = inspect_json(&write("damaged-gzip-layer.tar", &fx.bytes));
    assert_coded(&report);
    let checks = all_checks(&report);
    let reasons: Vec<&Value> = checks.iter().filter(|c| c["verdict"] == "not_checkable").copied().collect();
    assert!(!reasons.is_empty(), "{checks:#?}");
    for c in &reasons {
        let code = c["why_code"].as_str().unwrap();
        assert!(Code::from_name(code).is_some(), "{c}");
    }
    // The finding names the layer's problem as a nested message.
    let unreadable = findings_with(&report, "layer_unreadable");
    assert_eq!(unreadable.len(), 1, "{report:#}");
    let problem = &unreadable[0]["params"]["problem"];
    assert!(Code::from_name(problem["code"].as_str().unwrap()).is_some(), "{problem}");
    assert_eq!(problem["code"], reasons[0]["why_code"], "{problem} vs {}", reasons[0]);
}

#[test]
fn merge_warnings_carry_codes() {
    let spec = fixture::ImageSpec::new(&["links:1"]).layer(
        LayerSpec::new().file("a", "x").hardlink("b", "no/such/file").raw_entry(fixture::Entry::file("../escape", "y")),
        "/bin/sh -c true",
    );
    let fx = fixture::docker_oci(&[spec], &Options::default());
    let mut src = std::io::Cursor::new(fx.bytes);
    let mut archive = Archive::open(&mut src, &mut |_| {}).unwrap();
    archive.verify(&mut src, &mut |_| {}).unwrap();
    let layers: Vec<_> = archive.report().images[0].layers.iter().map(|l| archive.layer_index(l.blob.unwrap()).unwrap()).collect();
    let tree = strata::merge::MergedTree::build(&layers);
    let codes: Vec<Code> = tree.problems().iter().map(|p| p.code).collect();
    assert!(codes.contains(&Code::HardlinkTargetMissing), "{:?}", tree.problems());
    assert!(codes.contains(&Code::PathDotDot), "{:?}", tree.problems());
    for p in tree.problems() {
        let f = serde_json::to_value(p.to_finding()).unwrap();
        assert_eq!(f["code"], p.code.as_str());
        assert_eq!(f["message"], p.message);
        assert_eq!(message(&f["code"], &f["params"]).english(), p.message);
    }
    let hard = tree.problems().iter().find(|p| p.code == Code::HardlinkTargetMissing).unwrap();
    assert_eq!(hard.message, "hardlink target no/such/file does not exist");
}

#[test]
fn errors_have_a_code_and_params_and_say_the_same_in_english() {
    let mut src = std::io::Cursor::new(b"{\"not\": \"a tar\"}".repeat(40));
    let e: Error = Archive::open(&mut src, &mut |_| {}).err().expect("not a tar");
    assert_eq!(e.code(), Code::NotTar);
    assert!(e.to_string().starts_with("not a tar archive: the first 512 bytes are not a tar header (JSON text)"), "{e}");
    assert_eq!(e.to_string(), e.code().english(&e.params()));
    let truncated = Error::Truncated { entry: Some("blobs/sha256/ab".into()), offset: 42, detail: "cut".into() };
    assert_eq!(truncated.code(), Code::TruncatedInEntry);
    assert_eq!(truncated.params()["offset"], strata::codes::Param::Number(42));
    assert_eq!(truncated.to_string(), "archive is truncated in entry \"blobs/sha256/ab\" at byte 42: cut");
    let json = serde_json::to_value(truncated.message()).unwrap();
    assert_eq!(json["code"], "truncated_in_entry");
    assert_eq!(json["params"]["entry"], "blobs/sha256/ab");
    assert_eq!(json["message"], truncated.to_string());
}

/// The README's list of codes, as the core would write it.
fn readme_list() -> String {
    let mut out = String::from("| code | parameters | English |\n|---|---|---|\n");
    for code in Code::ALL {
        let params = code.param_names().iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ");
        let english = code.template().replace('|', "\\|");
        out.push_str(&format!("| `{code}` | {params} | {english} |\n"));
    }
    out
}

#[test]
fn the_readme_lists_every_code() {
    const BEGIN: &str = "<!-- codes: begin (tests/codes.rs checks this list; STRATA_BLESS_README=1 rewrites it) -->\n";
    const END: &str = "<!-- codes: end -->";
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find(BEGIN).expect("README: no codes list marker") + BEGIN.len();
    let end = start + readme[start..].find(END).expect("README: no end marker");
    let want = readme_list();
    if readme[start..end] != want && std::env::var_os("STRATA_BLESS_README").is_some() {
        std::fs::write(&path, format!("{}{want}{}", &readme[..start], &readme[end..])).unwrap();
        return;
    }
    assert_eq!(readme[start..end], want, "README's codes list is stale: run with STRATA_BLESS_README=1");
}
