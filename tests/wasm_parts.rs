//! wasm-bindgen-test in headless Chromium, inside a dedicated worker: the `Read + Seek` over
//! an archive made of parts (`src/wasm/parts_reader.rs`, what a registry image is read
//! through), with inline-bytes and Blob parts (its url parts are HttpReaders, exercised by
//! the page tests against real registries: tests/page/registry*.test.js).
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test
//! --no-default-features --target wasm32-unknown-unknown --test wasm_parts`
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Object, Reflect, Uint8Array};
use std::io::{Read, Seek, SeekFrom};
use strata::wasm::{PartsReader, Source};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Bytes that differ at every offset (a misplaced read cannot go unnoticed).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i as u64 * 2654435761) >> 13) as u8).collect()
}

fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        Reflect::set(&o, &JsValue::from_str(k), v).unwrap();
    }
    o.into()
}

fn bytes_part(bytes: &[u8]) -> JsValue {
    object(&[("bytes", Uint8Array::from(bytes).into())])
}

fn blob_part(bytes: &[u8]) -> JsValue {
    let parts = Array::new();
    parts.push(&Uint8Array::from(bytes));
    object(&[("blob", Blob::new_with_u8_array_sequence(&parts).unwrap().into())])
}

/// A source of parts cut from `whole` at `cuts`, alternating inline bytes and Blobs (an empty
/// part where two cuts meet), with its stated size.
fn source(whole: &[u8], cuts: &[usize]) -> JsValue {
    let parts = Array::new();
    let mut at = 0;
    for (i, &cut) in cuts.iter().chain(std::iter::once(&whole.len())).enumerate() {
        let piece = &whole[at..cut];
        parts.push(&if i % 2 == 0 { bytes_part(piece) } else { blob_part(piece) });
        at = cut;
    }
    object(&[("parts", parts.into()), ("size", JsValue::from_f64(whole.len() as f64)), ("ref", JsValue::from_str("x/y:z"))])
}

#[wasm_bindgen_test]
fn reads_and_seeks_across_parts_as_the_whole() {
    let whole = pattern(300_000);
    let cuts = [512, 100_000, 100_000, 100_512, 250_000];
    let mut reader = PartsReader::from_js(&source(&whole, &cuts), 64 << 10).unwrap();
    assert_eq!(reader.len(), whole.len() as u64);
    let mut all = Vec::new();
    reader.read_to_end(&mut all).unwrap();
    assert!(all == whole);
    for (at, len) in [(0usize, 10usize), (500, 30), (99_990, 700), (100_500, 20), (249_000, 51_000), (299_999, 5), (150_000, 0)] {
        reader.seek(SeekFrom::Start(at as u64)).unwrap();
        let mut got = vec![0; len];
        let n = {
            let mut filled = 0;
            while filled < len {
                let k = reader.read(&mut got[filled..]).unwrap();
                if k == 0 {
                    break;
                }
                filled += k;
            }
            filled
        };
        assert_eq!(&got[..n], &whole[at..(at + len).min(whole.len())], "at {at} len {len}");
    }
    // Through Source::from_js too (what Session.open and the helpers call).
    let mut src = Source::from_js(&source(&whole, &cuts), 8 << 20).unwrap();
    src.seek(SeekFrom::Start(250_000)).unwrap();
    let mut tail = Vec::new();
    src.read_to_end(&mut tail).unwrap();
    assert!(tail == whole[250_000..]);
}

#[wasm_bindgen_test]
fn one_part_reader_alive_at_a_time() {
    let whole = pattern(40_000);
    // bytes | blob | bytes | blob | bytes
    let mut reader = PartsReader::from_js(&source(&whole, &[1_000, 11_000, 12_000, 30_000]), 64 << 10).unwrap();
    let mut buf = [0u8; 100];
    assert_eq!(reader.reading_part(), None);
    reader.seek(SeekFrom::Start(2_000)).unwrap();
    reader.read_exact(&mut buf).unwrap();
    assert_eq!(reader.reading_part(), Some(1));
    // Inline bytes are read in place: the Blob part's reader stays for a read coming back.
    reader.seek(SeekFrom::Start(500)).unwrap();
    reader.read_exact(&mut buf).unwrap();
    assert_eq!(reader.reading_part(), Some(1));
    reader.seek(SeekFrom::Start(20_000)).unwrap();
    reader.read_exact(&mut buf).unwrap();
    assert_eq!(reader.reading_part(), Some(3), "the first Blob part's reader and cache were dropped");
    assert_eq!(&buf[..], &whole[20_000..20_100]);
}

#[wasm_bindgen_test]
fn a_stated_size_that_is_not_the_parts_total_is_refused() {
    let whole = pattern(5_000);
    let src = source(&whole, &[1_000]);
    Reflect::set(&src, &JsValue::from_str("size"), &JsValue::from_f64(4_999.0)).unwrap();
    assert!(PartsReader::from_js(&src, 1 << 20).is_err());
    let bad = object(&[("parts", Array::of1(&object(&[("url", JsValue::from_str("http://x/")), ("size", JsValue::from_f64(-1.0))])).into())]);
    assert!(PartsReader::from_js(&bad, 1 << 20).is_err());
}
