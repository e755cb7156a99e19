//! A compressed archive's streaming pass can send the stored bytes of big entries to be
//! hashed elsewhere (the browser's WebCrypto, in another worker). The digests that come
//! back give exactly the report of a pass that hashed everything itself; until they do,
//! those blobs are pending; a wrong one is a mismatch; and ones that never come are
//! computed by `verify`.

mod common;

use common::clean_fixtures;
use std::collections::BTreeMap;
use std::io::Cursor;
use strata::archive::HashElsewhere;
use strata::fixture::{self, Options, Tamper};
use strata::report::{Compression, Report, Verdict};
use strata::Archive;

/// The bytes each entry sent, put together in the order they came.
type Sent = BTreeMap<usize, (u64, Vec<u8>)>;

fn open_sending(bytes: &[u8], min: u64, max: u64) -> (Archive, Sent) {
    let mut sent: Sent = BTreeMap::new();
    let mut send = |entry: usize, size: u64, offset: u64, piece: &[u8]| {
        let got = sent.entry(entry).or_insert((size, Vec::new()));
        assert_eq!(got.0, size, "entry {entry}: one size throughout");
        assert_eq!(got.1.len() as u64, offset, "entry {entry}: pieces come in order, none missing");
        assert!(piece.len() <= HashElsewhere::PIECE && !piece.is_empty());
        got.1.extend_from_slice(piece);
    };
    let mut elsewhere = HashElsewhere { min, max, send: &mut send };
    let archive = Archive::open_hashing_elsewhere(&mut Cursor::new(bytes), &mut |_| {}, Some(&mut elsewhere)).expect("opens");
    (archive, sent)
}

fn json(r: &Report) -> serde_json::Value {
    serde_json::to_value(r).expect("serialisable")
}

#[test]
fn digests_from_elsewhere_give_the_same_report() {
    let mut tried = 0;
    for (name, fx, _) in clean_fixtures() {
        if strata::detect::compression(&fx.bytes) == Compression::None {
            continue;
        }
        tried += 1;
        let alone = Archive::open(&mut Cursor::new(&fx.bytes), &mut |_| {}).expect("opens");
        // Every entry sent elsewhere (min 1), so every blob waits for its digest.
        let (mut a, sent) = open_sending(&fx.bytes, 1, u64::MAX);
        let waiting = a.entries_hashed_elsewhere();
        assert!(!waiting.is_empty(), "{name}");
        assert!(!a.report().verification_done, "{name}: pending until the digests come");
        assert!(a.report().images.iter().all(|i| !i.verified), "{name}");
        let pending: Vec<_> = common::all_checks(a.report()).into_iter().filter(|(_, c)| c.verdict == Verdict::Pending).collect();
        assert!(!pending.is_empty(), "{name}: checks wait for the digests");
        for &entry in &waiting {
            let (size, bytes) = &sent[&entry];
            assert_eq!(bytes.len() as u64, *size, "{name}: entry {entry} sent whole");
            assert!(a.set_entry_digest(entry, &fixture::digest(bytes)), "{name}: entry {entry} was waiting");
            assert!(!a.set_entry_digest(entry, &fixture::digest(b"again")), "{name}: a second digest is ignored");
        }
        assert!(a.entries_hashed_elsewhere().is_empty());
        assert_eq!(json(a.report()), json(alone.report()), "{name}: the same report as hashing in the pass");
        assert!(a.report().all_verified(), "{name}");
    }
    assert!(tried >= 4, "the compressed fixtures were tried ({tried})");
}

#[test]
fn only_entries_in_the_size_range_go_elsewhere() {
    let web = vec![fixture::web_v1(), fixture::web_v2()];
    let oci = fixture::docker_oci(&web, &Options::default());
    let gz = fixture::compress(&oci.bytes, Compression::Gzip);
    let (a, sent) = open_sending(&gz, 600, 4000);
    assert!(!sent.is_empty());
    assert!(sent.values().all(|(size, _)| (600..=4000).contains(size)), "{:?}", sent.values().map(|s| s.0).collect::<Vec<_>>());
    // Entries that are not blobs (index.json, manifest.json) may go too; only blobs wait,
    // and only ones that were sent.
    assert!(!a.entries_hashed_elsewhere().is_empty());
    assert!(a.entries_hashed_elsewhere().iter().all(|e| sent.contains_key(e)));
    // A plain archive has no streaming pass: nothing is sent.
    let (plain, sent) = open_sending(&oci.bytes, 1, u64::MAX);
    assert!(sent.is_empty() && plain.entries_hashed_elsewhere().is_empty());
}

#[test]
fn a_wrong_digest_is_a_mismatch_and_a_missing_one_is_computed_by_verify() {
    let oci = fixture::docker_oci(&[fixture::web_v1()], &Options::default());
    let gz = fixture::compress(&oci.bytes, Compression::Gzip);
    let alone = Archive::open(&mut Cursor::new(&gz), &mut |_| {}).expect("opens");

    // A layer's bytes changed on the way (as a digest of other bytes would say).
    let (mut a, sent) = open_sending(&gz, 1, u64::MAX);
    let layer_entry = *a.entries_hashed_elsewhere().iter().max_by_key(|e| sent[e].0).expect("a blob");
    for &entry in &a.entries_hashed_elsewhere() {
        let mut bytes = sent[&entry].1.clone();
        if entry == layer_entry {
            bytes[700] ^= 1;
        }
        a.set_entry_digest(entry, &fixture::digest(&bytes));
    }
    assert!(a.report().verification_done);
    assert!(!a.report().all_verified());
    let bad: Vec<String> = common::all_checks(a.report())
        .into_iter()
        .filter(|(_, c)| matches!(c.verdict, Verdict::Mismatch { .. }))
        .map(|(_, c)| c.item)
        .collect();
    assert!(bad.iter().any(|i| i.contains("blob digest")), "{bad:?}");
    assert!(bad.iter().any(|i| i.contains("diff_id")), "uncompressed layer: its diff_id is the same digest: {bad:?}");

    // Digests that never came: verify reads those blobs again and hashes them here.
    let (mut b, _) = open_sending(&gz, 1, u64::MAX);
    let first = b.entries_hashed_elsewhere()[0];
    b.set_entry_digest(first, &fixture::digest(b"not these bytes"));
    let mut src = Cursor::new(&gz);
    b.verify(&mut src, &mut |_| {}).expect("verifies");
    assert!(b.entries_hashed_elsewhere().is_empty());
    let mut again = json(b.report());
    let mut expected = json(alone.report());
    assert_ne!(again, expected, "the wrong digest set before verify stays");
    // Without the wrong one, the same report as the pass that hashed everything.
    let (mut c, _) = open_sending(&gz, 1, u64::MAX);
    c.verify(&mut Cursor::new(&gz), &mut |_| {}).expect("verifies");
    again = json(c.report());
    expected = json(alone.report());
    assert_eq!(again, expected);

    // The tampered archive's mismatch is found either way.
    let tampered = fixture::docker_oci(&[fixture::web_v1()], &Options::tamper(Tamper::FlipLayerByte { image: 0, layer: 0, offset: 40 }));
    let gz = fixture::compress(&tampered.bytes, Compression::Gzip);
    let alone = Archive::open(&mut Cursor::new(&gz), &mut |_| {}).expect("opens");
    let (mut d, sent) = open_sending(&gz, 1, u64::MAX);
    for &entry in &d.entries_hashed_elsewhere() {
        d.set_entry_digest(entry, &fixture::digest(&sent[&entry].1));
    }
    assert!(!d.report().all_verified());
    assert_eq!(json(d.report()), json(alone.report()));
}

/// What `analyze_digests_elsewhere` handed out, and its facts completed with the digests
/// of the stored bytes and of what was handed out, as the browser's helper does.
fn analyze_both_elsewhere(stored: &[u8]) -> (strata::verify::BlobFacts, Vec<u8>) {
    use strata::verify::{self, HANDED_OUT_PIECE};
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut facts = Archive::analyze_blob_digests_elsewhere(&mut &stored[..], &mut |piece: &[u8]| pieces.push(piece.to_vec()));
    assert!(facts.digest.is_empty(), "the stored bytes are not hashed here");
    if let Some((last, whole)) = pieces.split_last() {
        assert!(whole.iter().all(|p| p.len() == HANDED_OUT_PIECE), "pieces of {HANDED_OUT_PIECE} bytes, but the last");
        assert!(!last.is_empty() && last.len() <= HANDED_OUT_PIECE);
    }
    let handed: Vec<u8> = pieces.concat();
    verify::set_digest(&mut facts, &fixture::digest(stored));
    if verify::wants_diff_id(&facts) {
        assert_eq!(facts.diff_id, None, "the decompressed stream was not hashed here");
        verify::set_diff_id(&mut facts, &fixture::digest(&handed));
    }
    (facts, handed)
}

#[test]
fn both_digests_from_elsewhere_give_the_same_facts_and_report() {
    let mut streams_handed_out = 0;
    let mut fixtures = clean_fixtures();
    // A compressed layer whose stream takes several pieces.
    let big: String = (0..200_000).map(|i| format!("{i:08}\n")).collect();
    let spec = fixture::ImageSpec::new(&["big:1"])
        .layer(fixture::base_layer().compressed(Compression::Gzip), "ADD base (gzip)")
        .layer(fixture::LayerSpec::new().file("data/numbers.txt", big.as_str()).compressed(Compression::Zstd), "ADD numbers (zstd)");
    fixtures.push(("big-streams", fixture::oci_archive(&[spec], &Options::default(), true), true));
    for (name, fx, _) in fixtures {
        if strata::detect::compression(&fx.bytes) != Compression::None {
            continue; // (a compressed archive's blobs are hashed in its pass: the test above)
        }
        let (_, expected) = common::open_verify(&fx.bytes).expect("opens");
        let mut a = Archive::open(&mut Cursor::new(&fx.bytes), &mut |_| {}).expect("opens");
        for blob in 0..a.blob_count() {
            let (offset, size) = a.blob_span(blob).expect("a span");
            let stored = &fx.bytes[offset as usize..(offset + size) as usize];
            let alone = Archive::analyze_blob(&mut &stored[..]);
            let (facts, handed) = analyze_both_elsewhere(stored);
            assert_eq!(
                serde_json::to_value(&facts).expect("json"),
                serde_json::to_value(&alone).expect("json"),
                "{name}: blob {blob}: the same facts either way"
            );
            if alone.compression == Compression::None {
                assert!(handed.is_empty(), "{name}: blob {blob}: an uncompressed blob's bytes are its stream: nothing to hand out");
            } else if alone.is_tar {
                assert_eq!(handed.len() as u64, alone.uncompressed_size.expect("a size"), "{name}: blob {blob}: the whole stream");
                streams_handed_out += 1;
            }
            a.set_blob_facts(blob, facts);
        }
        assert_eq!(json(a.report()), json(&expected), "{name}: the same report as verifying in one pass");
    }
    assert!(streams_handed_out >= 6, "compressed layers were tried ({streams_handed_out})");
}

#[test]
fn a_wrong_diff_id_from_elsewhere_is_a_mismatch_and_a_cut_stream_wants_none() {
    use strata::verify::{self, set_diff_id, wants_diff_id};
    let oci = fixture::oci_archive(&[common::kaniko_image()], &Options::default(), true);
    let mut a = Archive::open(&mut Cursor::new(&oci.bytes), &mut |_| {}).expect("opens");
    let layers: Vec<usize> = (0..a.blob_count())
        .filter(|&b| {
            let (o, s) = a.blob_span(b).expect("span");
            strata::detect::compression(&oci.bytes[o as usize..(o + s) as usize]) == Compression::Gzip
        })
        .collect();
    assert_eq!(layers.len(), 2, "two gzip layers");
    for blob in 0..a.blob_count() {
        let (o, s) = a.blob_span(blob).expect("span");
        let stored = &oci.bytes[o as usize..(o + s) as usize];
        let (mut facts, handed) = analyze_both_elsewhere(stored);
        if blob == layers[0] {
            // The digest of other bytes than the stream that was handed out.
            facts.diff_id = None;
            set_diff_id(&mut facts, &fixture::digest(&handed[1..]));
        }
        a.set_blob_facts(blob, facts);
    }
    assert!(a.report().verification_done);
    let bad: Vec<String> = common::all_checks(a.report())
        .into_iter()
        .filter(|(_, c)| matches!(c.verdict, Verdict::Mismatch { .. }))
        .map(|(_, c)| c.item)
        .collect();
    assert_eq!(bad.len(), 1, "only that diff_id: {bad:?}");
    assert!(bad[0].contains("diff_id"), "{bad:?}");

    // A gzip layer cut short: its stream never ends, so no diff_id is due, and the facts
    // say why, as the core's own pass does.
    let (o, s) = a.blob_span(layers[1]).expect("span");
    let cut = &oci.bytes[o as usize..(o + s / 2) as usize];
    let mut handed = 0;
    let mut facts = Archive::analyze_blob_digests_elsewhere(&mut &cut[..], &mut |p: &[u8]| handed += p.len());
    assert!(!wants_diff_id(&facts));
    set_diff_id(&mut facts, &fixture::digest(b"anything"));
    assert_eq!(facts.diff_id, None, "a diff_id that is not due is ignored");
    verify::set_digest(&mut facts, &fixture::digest(cut));
    let alone = Archive::analyze_blob(&mut &cut[..]);
    assert!(alone.problem.is_some());
    assert_eq!(serde_json::to_value(&facts).expect("json"), serde_json::to_value(&alone).expect("json"));
}
