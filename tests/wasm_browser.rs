//! wasm-bindgen-test in headless Chromium, inside a dedicated worker (where
//! `FileReaderSync` exists): the Blob reader, and the core over generated archives
//! through the same `Session` API the page's worker uses.
//!
//! Run: `./build.sh test` (or see `test_wasm_browser` in build.sh).
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Uint8Array};
use serde_json::Value;
use std::io::{Read, Seek, SeekFrom};
use strata::io::ShortReads;
use strata::wasm::{BlobReader, Session, MAX_CHUNK, MIN_CHUNK};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::Blob;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

// The fixture builder is native-only in the library (it can shell out to compressors);
// its pure-Rust parts compile here too, so the tests build the same archives.
mod report {
    pub use strata::report::*;
}
#[allow(dead_code)]
#[path = "../src/fixture.rs"]
mod fixture;

fn blob_of(bytes: &[u8]) -> Blob {
    let parts = Array::new();
    parts.push(&Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence(&parts).expect("Blob")
}

/// Bytes that differ at every offset (so a misplaced read cannot go unnoticed).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i as u64 * 2654435761) >> 13) as u8).collect()
}

fn noop() -> Function {
    Function::new_no_args("")
}

fn json(v: JsValue) -> Value {
    serde_wasm_bindgen::from_value(v).expect("JSON-compatible value")
}

#[wasm_bindgen_test]
fn blob_reader_short_reads_read_everything() {
    let data = pattern(3 << 20);
    let reader = BlobReader::with_max_chunk(blob_of(&data), 1 << 20).expect("reader");
    let mut short = ShortReads { inner: reader, max: 777, calls: 0 };
    let mut out = Vec::new();
    short.read_to_end(&mut out).expect("read");
    assert_eq!(out.len(), data.len());
    assert!(out == data, "bytes differ");
    assert!(short.calls > 4000);
    // ~3 MiB in chunks growing from 64 KiB to 1 MiB: a handful of fetches, not thousands.
    assert!(short.inner.fetches < 12, "{} fetches", short.inner.fetches);
}

#[wasm_bindgen_test]
fn blob_reader_seeks_anywhere() {
    let data = pattern(5 << 20);
    let mut r = BlobReader::with_max_chunk(blob_of(&data), 256 << 10).expect("reader");
    assert_eq!(r.len(), data.len() as u64);
    let mut state: u64 = 12345;
    for _ in 0..300 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = (state >> 20) as usize % data.len();
        let len = ((state >> 8) as usize % 3000).min(data.len() - at);
        r.seek(SeekFrom::Start(at as u64)).expect("seek");
        let mut buf = vec![0u8; len];
        r.read_exact(&mut buf).expect("read_exact");
        assert!(buf[..] == data[at..at + len], "mismatch at {at}+{len}");
    }
    // Relative and from-the-end seeks.
    assert_eq!(r.seek(SeekFrom::End(-10)).expect("end"), data.len() as u64 - 10);
    let mut tail = Vec::new();
    r.read_to_end(&mut tail).expect("tail");
    assert!(tail[..] == data[data.len() - 10..]);
    assert_eq!(r.read(&mut [0u8; 16]).expect("eof"), 0);
    r.seek(SeekFrom::Start(100)).expect("seek");
    assert_eq!(r.seek(SeekFrom::Current(-40)).expect("current"), 60);
    assert!(r.seek(SeekFrom::Current(-61)).is_err(), "seek before the start is an error");
    // Past the end: reads give 0, no error.
    r.seek(SeekFrom::Start(data.len() as u64 + 5)).expect("past end");
    assert_eq!(r.read(&mut [0u8; 8]).expect("read past end"), 0);
}

#[wasm_bindgen_test]
fn blob_reader_serves_nearby_small_reads_from_one_chunk() {
    let data = pattern(1 << 20);
    let mut r = BlobReader::new(blob_of(&data)).expect("reader");
    // Tar-header-like reads: 512 bytes at a time, skipping around inside 64 KiB.
    for k in 0..100u64 {
        let at = (k * 617) % (MIN_CHUNK as u64 - 512);
        r.seek(SeekFrom::Start(at)).expect("seek");
        let mut h = [0u8; 512];
        r.read_exact(&mut h).expect("read");
        assert!(h[..] == data[at as usize..at as usize + 512]);
    }
    assert_eq!(r.fetches, 1, "one chunk served every read");
}

#[wasm_bindgen_test]
fn blob_reader_multi_mib_sequential_reads() {
    let data = pattern(24 << 20);
    let mut r = BlobReader::new(blob_of(&data)).expect("reader");
    let mut hasher_input = 0u64;
    let mut buf = vec![0u8; 256 << 10];
    let mut pos = 0usize;
    loop {
        let n = r.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        assert!(buf[..n] == data[pos..pos + n], "chunk at {pos}");
        pos += n;
        hasher_input += n as u64;
    }
    assert_eq!(hasher_input, data.len() as u64);
    // Chunks double up to MAX_CHUNK (8 MiB): 24 MiB take well under 20 fetches.
    assert!(r.fetches < 20, "{} fetches", r.fetches);
    // A single read bigger than a chunk is capped at MAX_CHUNK and still correct.
    r.seek(SeekFrom::Start(1)).expect("seek");
    let mut big = vec![0u8; MAX_CHUNK + 4096];
    let n = r.read(&mut big).expect("big read");
    assert!(n > 0 && n <= MAX_CHUNK);
    assert!(big[..n] == data[1..1 + n]);
}

fn open(bytes: &[u8]) -> Session {
    Session::open(blob_of(bytes).into(), &noop()).unwrap_or_else(|e| panic!("open failed: {:?}", JsValue::from(e)))
}

fn verify(s: &mut Session) -> Value {
    let reports = Array::new();
    let on_blob = Function::new_with_args("r", "this.push(r)").bind0(&reports);
    s.verify(&noop(), &on_blob).map_err(JsValue::from).expect("verify");
    assert!(reports.length() > 0, "a report after each blob");
    json(s.report().map_err(JsValue::from).expect("report"))
}

fn text_of(s: &mut Session, image: usize, layer: Option<usize>, path: &str) -> String {
    let bytes = s.read_file(image, layer, path, 0.0, -1.0).map_err(JsValue::from).expect("read_file");
    String::from_utf8(bytes.to_vec()).expect("utf8")
}

#[wasm_bindgen_test]
fn the_sample_through_the_session_api() {
    let mut s = open(&fixture::sample_archive());
    let report = json(s.report().map_err(JsValue::from).expect("report"));
    assert_eq!(report["archive"]["format"], "docker-oci");
    assert_eq!(report["images"].as_array().map(|a| a.len()), Some(2));
    assert_eq!(report["images"][0]["repo_tags"][0], "strata-demo:1.0");
    assert_eq!(report["verification_done"], false);

    // Browsable before verification: headers-only index.
    s.index_layers(&noop()).map_err(JsValue::from).expect("index");
    assert!(s.all_layers_indexed());
    let listing = json(s.list_dir(0, None, "/etc", None).map_err(JsValue::from).expect("list"));
    let names: Vec<&str> = listing["entries"].as_array().expect("entries").iter().filter_map(|e| e["name"].as_str()).collect();
    assert!(names.contains(&"passwd"));
    assert!(!names.contains(&"hostname"), "deleted by layer 1");
    assert!(text_of(&mut s, 0, None, "/etc/passwd").starts_with("root:x:0:0"));
    // Symlink followed: /bin/sh → /usr/bin/sh → hardlink to busybox.
    assert!(text_of(&mut s, 0, None, "/bin/sh").starts_with("\u{7f}ELF demo busybox"));
    // A range.
    let part = s.read_file(0, None, "/etc/passwd", 5.0, 4.0).map_err(JsValue::from).expect("range").to_vec();
    assert_eq!(part, b"x:0:");

    let report = verify(&mut s);
    assert_eq!(report["verification_done"], true);
    assert!(report["images"].as_array().expect("images").iter().all(|i| i["verified"] == true));

    // Layer view: /etc/hostname of layer 0 is shadowed (deleted by layer 1).
    let layer0 = json(s.list_dir(0, Some(0), "/etc", None).map_err(JsValue::from).expect("layer list"));
    let hostname = layer0["entries"].as_array().expect("rows").iter().find(|e| e["name"] == "hostname").cloned().expect("hostname row");
    assert_eq!(hostname["shadow"]["status"], "deleted");
    assert_eq!(hostname["shadow"]["by_layer"], 1);

    // The lesson view's queries: the whole tree as of layer 1 (its deletion marked among the
    // unchanged rows), a path's story, and layer 1's own markers by their real names.
    let whole = json(s.list_dir(0, Some(1), "/etc", Some(true)).map_err(JsValue::from).expect("whole list"));
    let rows: Vec<(String, Value)> = whole["entries"].as_array().expect("rows").iter().map(|e| (e["name"].as_str().unwrap_or("").to_string(), e["change"].clone())).collect();
    assert!(rows.contains(&("hostname".to_string(), Value::from("deleted"))), "{rows:?}");
    assert!(rows.contains(&("os-release".to_string(), Value::Null)), "{rows:?}");
    let story = json(s.path_story(0, "/etc/hostname").map_err(JsValue::from).expect("story"));
    let steps: Vec<(u64, &str)> = story.as_array().expect("events").iter().map(|e| (e["layer"].as_u64().unwrap_or(99), e["change"].as_str().unwrap_or(""))).collect();
    assert_eq!(steps, [(0, "added"), (1, "deleted")]);
    let markers = json(s.layer_markers(0, 1, 10).map_err(JsValue::from).expect("markers"));
    let names: Vec<&str> = markers.as_array().expect("markers").iter().filter_map(|m| m["path"].as_str()).collect();
    assert!(names.contains(&"etc/.wh.hostname") && names.contains(&"var/cache/apk/.wh..wh..opq"), "{names:?}");

    let diff = json(s.diff(0, 1).map_err(JsValue::from).expect("diff"));
    let paths: Vec<&str> = diff["files"].as_array().expect("files").iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(paths.contains(&"app/CHANGELOG.md"));
    assert!(s.dockerfile(0).map_err(JsValue::from).expect("dockerfile").contains("CMD"));

    let chunks = Array::new();
    let on_chunk = Function::new_with_args("c", "this.push(c)").bind0(&chunks);
    let written = s.export_rootfs(0, &on_chunk).map_err(JsValue::from).expect("export");
    assert!(written > 10_000.0);
    assert!(chunks.length() >= 1);
}

#[wasm_bindgen_test]
fn generated_formats_open_and_verify() {
    let v1 = fixture::web_v1();
    let v2 = fixture::web_v2();
    let plain = fixture::Options::default();
    let gz = |spec: &fixture::ImageSpec| {
        let mut s = spec.clone();
        for l in &mut s.layers {
            l.compression = strata::report::Compression::Gzip;
        }
        s
    };
    let legacy = fixture::docker_legacy(&[v1.clone(), v2.clone()], &plain).bytes;
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("legacy", legacy.clone(), 2),
        ("docker-archive", fixture::docker_archive(&[v1.clone()], &plain).bytes, 1),
        ("docker25", fixture::docker_oci(&[v1.clone(), v2.clone()], &plain).bytes, 2),
        ("oci gzip", fixture::oci_archive(&[gz(&v1)], &plain, true).bytes, 1),
        ("whole gzip", fixture::compress(&legacy, strata::report::Compression::Gzip), 2),
    ];
    for (name, bytes, images) in cases {
        let mut s = open(&bytes);
        s.index_layers(&noop()).map_err(JsValue::from).expect("index");
        let report = if s.verified() { json(s.report().map_err(JsValue::from).expect("report")) } else { verify(&mut s) };
        assert_eq!(report["images"].as_array().map(|a| a.len()), Some(images), "{name}");
        assert!(report["images"].as_array().expect("images").iter().all(|i| i["verified"] == true), "{name} verified");
        assert_eq!(text_of(&mut s, 0, None, "/app/main.txt"), "hello from v1\n", "{name}");
    }
}

#[wasm_bindgen_test]
fn tampering_and_garbage_give_verdicts_and_plain_errors() {
    let v1 = fixture::web_v1();
    let tampered = fixture::docker_legacy(
        &[v1],
        &fixture::Options::tamper(fixture::Tamper::FlipLayerByte { image: 0, layer: 1, offset: 700 }),
    )
    .bytes;
    let mut s = open(&tampered);
    let report = verify(&mut s);
    assert_eq!(report["images"][0]["verified"], false);
    let checks = report["images"][0]["layers"][1]["checks"].as_array().expect("checks");
    assert!(checks.iter().any(|c| c["verdict"] == "mismatch" && c["expected"] != c["actual"]));

    let err = Session::open(blob_of(b"just some text, not a tar").into(), &noop()).err().map(JsValue::from).expect("an error");
    // The thrown Error carries the core's code and parameters for the page's catalogs.
    let code = js_sys::Reflect::get(&err, &JsValue::from_str("code")).ok().and_then(|c| c.as_string());
    assert_eq!(code.as_deref(), Some("not_tar"));
    let params = json(js_sys::Reflect::get(&err, &JsValue::from_str("params")).expect("params"));
    // The detail is a coded message of its own (the page words it too).
    assert_eq!(params["detail"]["code"], "head_too_short", "{params}");
    assert!(params["detail"]["message"].as_str().is_some_and(|d| d.contains("not a tar header")), "{params}");
    let message = js_sys::Error::from(err).message().as_string().unwrap_or_default();
    assert!(message.contains("not a tar archive"), "{message}");
    let listed = json(strata::wasm::codes().map_err(JsValue::from).expect("codes"));
    assert_eq!(listed.as_array().map(Vec::len), Some(strata::codes::Code::ALL.len()));
    assert!(listed.as_array().expect("codes").iter().any(|c| c["code"] == "layer_missing" && c["params"] == serde_json::json!(["layer", "why"])));

    let err = Session::open(blob_of(&[]).into(), &noop()).err().map(JsValue::from).expect("an error");
    let message = js_sys::Error::from(err).message().as_string().unwrap_or_default();
    assert!(message.contains("empty"), "{message}");
}

#[wasm_bindgen_test]
fn helper_worker_results_give_the_same_verified_report() {
    use strata::wasm::{analyze_span, quick_index_span};
    let bytes = fixture::sample_archive();
    let file = blob_of(&bytes);
    let mut s = Session::open(file.clone().into(), &noop()).map_err(JsValue::from).expect("open");
    let work = json(s.work().map_err(JsValue::from).expect("work"));
    assert_eq!(work["seekable"], true);
    // Index every layer the way a helper worker does, and hand the bytes over.
    for span in work["unindexed"].as_array().expect("unindexed") {
        let (blob, offset, size) = (span["blob"].as_u64().unwrap_or(0) as usize, span["offset"].as_f64().unwrap_or(0.0), span["size"].as_f64().unwrap_or(0.0));
        let data = quick_index_span(file.clone().into(), offset, size, Some(4096)).map_err(JsValue::from).expect("quick index").expect("a plain layer");
        s.set_quick_index(blob, &data.to_vec()).map_err(JsValue::from).expect("set_quick_index");
    }
    assert!(s.all_layers_indexed());
    assert!(text_of(&mut s, 1, None, "/app/config.json").contains("hello again"));
    // Verify every pending blob in "another worker".
    let mut last = Value::Null;
    for span in work["pending"].as_array().expect("pending") {
        let (blob, offset, size) = (span["blob"].as_u64().unwrap_or(0) as usize, span["offset"].as_f64().unwrap_or(0.0), span["size"].as_f64().unwrap_or(0.0));
        let data = analyze_span(file.clone().into(), offset, size, &noop()).map_err(JsValue::from).expect("analyze");
        last = json(s.set_blob_facts(blob, &data.to_vec()).map_err(JsValue::from).expect("set_blob_facts"));
    }
    assert_eq!(last["verification_done"], true);
    assert!(last["images"].as_array().expect("images").iter().all(|i| i["verified"] == true));
    // Same verdicts as verifying in one Session.
    let mut single = open(&bytes);
    let alone = verify(&mut single);
    assert_eq!(last["images"], alone["images"]);
    // Garbage handed over is an error, not a crash.
    assert!(s.set_blob_facts(0, b"stb1Fjunk").is_err());
    assert!(s.set_quick_index(0, &[1, 2, 3]).is_err());
}

#[wasm_bindgen_test]
fn read_ahead_index_and_digest_from_elsewhere_give_the_same_report() {
    use strata::wasm::{analyze_bytes, analyze_span, LayerIndexer};
    let bytes = fixture::sample_archive();
    let file = blob_of(&bytes);
    let mut s = Session::open(file.clone().into(), &noop())
        .map_err(JsValue::from)
        .expect("open");
    let work = json(s.work().map_err(JsValue::from).expect("work"));
    let span_of = |span: &Value| {
        (
            span["blob"].as_u64().unwrap_or(0) as usize,
            span["offset"].as_u64().unwrap_or(0) as usize,
            span["size"].as_u64().unwrap_or(0) as usize,
        )
    };
    // The worker's read-ahead feeds LayerIndexer pieces of any size; here 700-byte pieces
    // from wherever the walk asks, as JS Uint8Arrays.
    for span in work["unindexed"].as_array().expect("unindexed") {
        let (blob, offset, size) = span_of(span);
        let layer = &bytes[offset..offset + size];
        let mut ix = LayerIndexer::new(size as f64)
            .map_err(JsValue::from)
            .expect("indexer");
        let mut need = ix.need();
        let mut feeds = 0;
        while need >= 0.0 {
            let at = need as usize;
            let piece = Uint8Array::from(&layer[at..(at + 700).min(size)]);
            need = ix
                .feed(at as f64, &piece)
                .map_err(JsValue::from)
                .expect("feed");
            feeds += 1;
            assert!(feeds < 100_000, "the walk makes progress");
        }
        assert_eq!(need, -1.0, "a plain layer indexes completely");
        let data = ix.finish().expect("index bytes");
        s.set_quick_index(blob, &data.to_vec())
            .map_err(JsValue::from)
            .expect("set_quick_index");
    }
    assert!(s.all_layers_indexed());
    assert!(text_of(&mut s, 1, None, "/app/config.json").contains("hello again"));
    // Every blob hashed "by WebCrypto" (the digest computed here) and indexed from JS bytes.
    let mut last = Value::Null;
    for span in work["pending"].as_array().expect("pending") {
        let (blob, offset, size) = span_of(span);
        let stored = &bytes[offset..offset + size];
        let digest = fixture::digest(stored);
        let data = analyze_bytes(Uint8Array::from(stored), &digest, &noop())
            .map_err(JsValue::from)
            .expect("analyze_bytes");
        // Same facts as the core's own streaming SHA-256 over the file.
        let streamed = analyze_span(file.clone().into(), offset as f64, size as f64, &noop())
            .map_err(JsValue::from)
            .expect("analyze_span");
        assert_eq!(
            data.to_vec(),
            streamed.to_vec(),
            "blob {blob}: the same facts either way"
        );
        last = json(
            s.set_blob_facts(blob, &data.to_vec())
                .map_err(JsValue::from)
                .expect("set_blob_facts"),
        );
    }
    assert_eq!(last["verification_done"], true);
    assert!(last["images"]
        .as_array()
        .expect("images")
        .iter()
        .all(|i| i["verified"] == true));
    // A digest that does not match the bytes (a tampered blob, as WebCrypto would report it)
    // is a mismatch verdict; a malformed digest is refused.
    let span = &work["pending"][0];
    let (blob, offset, size) = span_of(span);
    let wrong = format!("sha256:{}", "0".repeat(64));
    let data = analyze_bytes(
        Uint8Array::from(&bytes[offset..offset + size]),
        &wrong,
        &noop(),
    )
    .map_err(JsValue::from)
    .expect("analyze_bytes");
    let report = json(
        s.set_blob_facts(blob, &data.to_vec())
            .map_err(JsValue::from)
            .expect("set_blob_facts"),
    );
    assert!(
        report["images"]
            .as_array()
            .expect("images")
            .iter()
            .any(|i| i["verified"] != true),
        "a wrong digest fails verification"
    );
    assert!(analyze_bytes(Uint8Array::from(&b"x"[..]), "sha256:xyz", &noop()).is_err());
    // A truncated layer: the indexer gives up (the sync walk then reports it).
    let first = &work["unindexed"][0];
    let (_, offset, size) = span_of(first);
    let cut = &bytes[offset..offset + size / 2 + 100];
    let mut ix = LayerIndexer::new(cut.len() as f64)
        .map_err(JsValue::from)
        .expect("indexer");
    let need = ix
        .feed(0.0, &Uint8Array::from(cut))
        .map_err(JsValue::from)
        .expect("feed");
    assert!(
        need == -2.0 || need == -1.0,
        "all bytes given: done or given up, never waiting ({need})"
    );
}

#[wasm_bindgen_test]
fn both_digests_from_elsewhere_give_the_same_facts() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use strata::wasm::{analyze_bytes_digests_elsewhere, analyze_span};
    let mut spec = fixture::web_v1();
    for (k, l) in spec.layers.iter_mut().enumerate() {
        l.compression = if k % 2 == 0 { strata::report::Compression::Gzip } else { strata::report::Compression::Zstd };
    }
    let bytes = fixture::oci_archive(&[spec], &fixture::Options::default(), true).bytes;
    let file = blob_of(&bytes);
    let mut s = open(&bytes);
    let work = json(s.work().map_err(JsValue::from).expect("work"));
    let mut streams = 0;
    let mut last = Value::Null;
    for span in work["pending"].as_array().expect("pending") {
        let (blob, offset, size) = (
            span["blob"].as_u64().unwrap_or(0) as usize,
            span["offset"].as_u64().unwrap_or(0) as usize,
            span["size"].as_u64().unwrap_or(0) as usize,
        );
        let stored = &bytes[offset..offset + size];
        // The page's sink copies each piece out of wasm memory at once.
        let handed = Rc::new(RefCell::new(Vec::new()));
        let sink = {
            let handed = handed.clone();
            Closure::<dyn FnMut(Uint8Array)>::new(move |piece: Uint8Array| handed.borrow_mut().extend(piece.to_vec()))
        };
        let pending = analyze_bytes_digests_elsewhere(Uint8Array::from(stored), &noop(), sink.as_ref().unchecked_ref());
        let diff_id = if pending.wants_diff_id() {
            streams += 1;
            Some(fixture::digest(&handed.borrow()))
        } else {
            assert!(handed.borrow().is_empty(), "blob {blob}: nothing to hand out");
            None
        };
        let data = pending.finish(&fixture::digest(stored), diff_id).map_err(JsValue::from).expect("finish");
        let streamed = analyze_span(file.clone().into(), offset as f64, size as f64, &noop()).map_err(JsValue::from).expect("analyze_span");
        assert_eq!(data.to_vec(), streamed.to_vec(), "blob {blob}: the same facts as the core's own pass");
        last = json(s.set_blob_facts(blob, &data.to_vec()).map_err(JsValue::from).expect("set_blob_facts"));
    }
    assert!(streams >= 2, "compressed layers handed out their streams ({streams})");
    assert_eq!(last["verification_done"], true);
    assert!(last["images"].as_array().expect("images").iter().all(|i| i["verified"] == true));
    // A diff_id that is due must come, and digests must be digests.
    let layer = work["pending"].as_array().expect("pending").iter().find(|span| {
        let (o, n) = (span["offset"].as_u64().unwrap_or(0) as usize, span["size"].as_u64().unwrap_or(0) as usize);
        bytes[o] == 0x1f && n > 100
    });
    let (o, n) = layer.map(|span| (span["offset"].as_u64().unwrap_or(0) as usize, span["size"].as_u64().unwrap_or(0) as usize)).expect("a gzip layer");
    let stored = &bytes[o..o + n];
    let pending = analyze_bytes_digests_elsewhere(Uint8Array::from(stored), &noop(), &noop());
    assert!(pending.wants_diff_id());
    assert!(pending.finish(&fixture::digest(stored), None).is_err(), "a due diff_id missing is an error");
    let pending = analyze_bytes_digests_elsewhere(Uint8Array::from(stored), &noop(), &noop());
    assert!(pending.finish("sha256:nope", Some(fixture::digest(b"x"))).is_err());
}
