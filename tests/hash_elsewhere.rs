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
