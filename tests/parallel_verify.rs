//! Verification on every core (issue 26): `strata inspect` hashes and indexes the blobs of
//! a plain archive on several threads. The report must be the same as the serial one, byte
//! for byte, on every fixture; a byte flipped in any one layer is still found.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use strata::fixture::{self, Options, Tamper};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("strata-parallel-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tempdir");
    d
}

fn inspect(file: &Path, threads: usize) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["inspect", "--json"])
        .arg(file)
        .env("STRATA_THREADS", threads.to_string())
        .output()
        .expect("run strata");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_fixture_gives_the_serial_report() {
    let d = dir();
    let mut compared = 0;
    for (name, fx, _) in common::all_fixtures() {
        let file = d.join(name.replace('/', "_"));
        std::fs::write(&file, &fx.bytes).expect("write");
        let serial = inspect(&file, 1);
        for threads in [2, 5] {
            assert_eq!(inspect(&file, threads), serial, "{name} with {threads} threads");
        }
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} fixtures");
}

#[test]
fn a_flipped_byte_in_any_layer_is_found() {
    let d = dir();
    let images = vec![fixture::web_v1(), fixture::web_v2()];
    let layers = fixture::docker_oci(&images, &Options::default()).images[0].layers.len();
    for layer in 0..layers {
        let opts = Options { tamper: vec![Tamper::FlipLayerByte { image: 0, layer, offset: 100 }], ..Options::default() };
        let fx = fixture::docker_oci(&images, &opts);
        let file = d.join(format!("flip-{layer}.tar"));
        std::fs::write(&file, &fx.bytes).expect("write");
        let (code, parallel) = inspect(&file, 4);
        assert_eq!(code, 1, "layer {layer}: the tampered image fails");
        let report: serde_json::Value = serde_json::from_str(&parallel).expect("json");
        let mismatch = report["images"][0]["layers"][layer]["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["verdict"] == "mismatch");
        assert!(mismatch, "layer {layer}: {}", report["images"][0]["layers"][layer]);
        assert_eq!((code, parallel), inspect(&file, 1), "layer {layer}: the same as serial");
    }
}
