//! The chunk-fed layer index (what the browser's read-ahead drives) must equal the
//! synchronous header walk, whatever the chunk sizes and whatever the caller reads ahead.

use std::io::Cursor;
use strata::chunk_index::{splice, ChunkIndexer, IndexPart, Need};
use strata::fixture::{Entry, LongNames, TarWriter};
use strata::layer::LayerIndex;
use strata::Archive;

/// The synchronous walk, as `strata ls` and the fallback in the browser run it.
fn sync_index(layer: &[u8]) -> Option<LayerIndex> {
    Archive::quick_index_span(&mut Cursor::new(layer), 0, layer.len() as u64)
}

/// Feeds `ix` exactly where it asks, `chunk` bytes at a time; true once it is done, false
/// when it gives up.
fn feed_at_need(ix: &mut ChunkIndexer, layer: &[u8], chunk: usize) -> bool {
    let mut feeds = 0;
    loop {
        match ix.need() {
            Need::Done => return true,
            Need::GiveUp => return false,
            Need::At(at) => {
                let at = at as usize;
                assert!(at < layer.len(), "asked for byte {at} of {}", layer.len());
                let end = (at + chunk).min(layer.len());
                ix.feed(at as u64, &layer[at..end]);
                feeds += 1;
                assert!(feeds <= layer.len() + 10, "no progress");
            }
        }
    }
}

/// Reads exactly where the indexer asks, `chunk` bytes at a time.
fn fed_at_need(layer: &[u8], chunk: usize) -> Option<LayerIndex> {
    let mut ix = ChunkIndexer::new(layer.len() as u64);
    if feed_at_need(&mut ix, layer, chunk) { ix.finish() } else { None }
}

/// Reads the whole layer front to back in `chunk`-sized pieces, never jumping (chunks the
/// walk has already skipped are fed anyway, as a read-ahead that arrives late would be).
fn fed_sequentially(layer: &[u8], chunk: usize) -> Option<LayerIndex> {
    let mut ix = ChunkIndexer::new(layer.len() as u64);
    for (k, piece) in layer.chunks(chunk.max(1)).enumerate() {
        match ix.feed((k * chunk) as u64, piece) {
            Need::Done => break,
            Need::GiveUp => return None,
            Need::At(_) => {}
        }
    }
    ix.finish()
}

/// The browser's driver: a few reads in flight ahead of the walk, growing chunks, and a
/// jump (dropping the read-ahead) when the walk asks for a byte far past it.
fn fed_with_readahead(
    layer: &[u8],
    first: usize,
    max: usize,
    depth: usize,
    gap: usize,
) -> Option<LayerIndex> {
    let mut ix = ChunkIndexer::new(layer.len() as u64);
    let mut inflight: std::collections::VecDeque<(usize, usize)> = Default::default();
    let (mut read_at, mut chunk) = (0usize, first);
    loop {
        while inflight.len() < depth && read_at < layer.len() {
            let len = chunk.min(layer.len() - read_at);
            inflight.push_back((read_at, len));
            read_at += len;
            chunk = (chunk * 2).min(max);
        }
        let Some((at, len)) = inflight.pop_front() else {
            return ix.finish();
        };
        match ix.feed(at as u64, &layer[at..at + len]) {
            Need::Done => return ix.finish(),
            Need::GiveUp => return None,
            Need::At(need) => {
                let need = need as usize;
                if need >= read_at + gap {
                    inflight.clear();
                    read_at = need;
                    chunk = first;
                } else if inflight.is_empty() && need >= read_at {
                    read_at = need;
                }
            }
        }
    }
}

fn check_all_ways(name: &str, layer: &[u8]) {
    let want = sync_index(layer).map(|ix| ix.entries);
    let want_ref = want.as_ref();
    for chunk in [1, 7, 511, 512, 513, 4096, 65536, 1 << 20] {
        assert_eq!(
            fed_at_need(layer, chunk).map(|ix| ix.entries).as_ref(),
            want_ref,
            "{name}: at need, chunk {chunk}"
        );
        assert_eq!(
            fed_sequentially(layer, chunk).map(|ix| ix.entries).as_ref(),
            want_ref,
            "{name}: sequential, chunk {chunk}"
        );
    }
    for (first, max, depth, gap) in [
        (512, 4096, 3, 1024),
        (1000, 64 << 10, 2, 8192),
        (64 << 10, 1 << 20, 3, 256 << 10),
        (7, 7, 1, 0),
    ] {
        assert_eq!(
            fed_with_readahead(layer, first, max, depth, gap)
                .map(|ix| ix.entries)
                .as_ref(),
            want_ref,
            "{name}: read-ahead {first}/{max}/{depth}/{gap}"
        );
    }
}

fn filler(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn varied_layer(long_names: LongNames) -> Vec<u8> {
    let mut t = TarWriter::with_long_names(long_names);
    t.dir("usr/");
    t.dir("usr/lib/");
    for i in 0..40 {
        t.file(format!("usr/lib/small-{i}.txt"), filler(i * 37, i as u8));
    }
    t.file("usr/lib/big.bin", filler(3 << 20, 9)); // a jump over 3 MiB
    let deep = format!(
        "usr/share/{}/file.txt",
        "node_modules/a-rather-long-package-name".repeat(6)
    );
    t.entry(
        &Entry::file(deep.as_bytes(), b"deep")
            .owner(1000, 1000)
            .mtime(1_700_000_000),
    );
    t.symlink("usr/bin/sh", "/bin/dash");
    t.symlink(
        format!("usr/bin/{}", "x".repeat(150)),
        format!("/opt/{}", "target-".repeat(30)),
    );
    t.hardlink("usr/lib/again.txt", "usr/lib/small-3.txt");
    t.file("usr/lib/.wh.gone", b"");
    t.file("usr/lib/exact-512", filler(512, 1));
    t.file("usr/lib/exact-1024", filler(1024, 2));
    t.file("usr/lib/after-big", filler(100, 3));
    t.file("opt/big2.bin", filler(700_000, 4));
    t.file("opt/last.txt", b"the end\n");
    t.finish()
}

#[test]
fn varied_layers_index_the_same_however_fed() {
    check_all_ways("gnu long names", &varied_layer(LongNames::Gnu));
    check_all_ways("pax long names", &varied_layer(LongNames::Pax));
}

#[test]
fn layer_without_end_marker_and_empty_layer() {
    let mut t = TarWriter::new();
    t.file("a", b"hello");
    t.file("b", filler(5000, 7));
    check_all_ways("no end marker", &t.finish_without_end());
    check_all_ways("empty archive", &TarWriter::new().finish());
}

#[test]
fn broken_layers_give_up_where_the_sync_walk_fails() {
    let good = varied_layer(LongNames::Pax);
    // truncated inside an entry's data, inside a header, and a corrupt checksum
    for cut in [700, 1500, good.len() / 2, good.len() - 1100] {
        let bad = &good[..cut];
        let want = sync_index(bad).map(|ix| ix.entries);
        for chunk in [1, 512, 4096, 1 << 20] {
            assert_eq!(
                fed_at_need(bad, chunk).map(|ix| ix.entries),
                want,
                "cut at {cut}, chunk {chunk}"
            );
        }
    }
    let mut bad = good.clone();
    bad[512 * 3 + 10] ^= 0x55; // a name byte in some header: checksum mismatch there or later
    let want = sync_index(&bad).map(|ix| ix.entries);
    assert_eq!(fed_at_need(&bad, 4096).map(|ix| ix.entries), want);
    assert!(fed_sequentially(b"not a tar at all, just words", 5).is_none());
}

#[test]
fn every_layer_of_the_sample_archive() {
    let bytes = strata::fixture::sample_archive();
    let mut src = Cursor::new(&bytes[..]);
    let archive = Archive::open(&mut src, &mut |_| {}).expect("sample opens");
    let mut layers = 0;
    for blob in archive.unindexed_layer_blobs() {
        let (offset, size) = archive.blob_span(blob).unwrap();
        let layer = &bytes[offset as usize..(offset + size) as usize];
        check_all_ways(&format!("sample blob {blob}"), layer);
        check_splits(&format!("sample blob {blob}"), layer, 512 * 7);
        layers += 1;
    }
    assert!(layers >= 3, "the sample has several layers ({layers})");
}

/// How far a second part looks for its first header (the browser's value).
const SEARCH_WITHIN: u64 = 4 << 20;

/// Feeds a part of a split walk where it asks, `chunk` bytes at a time.
fn part_at_need(layer: &[u8], from: u64, search: bool, stop: Option<u64>, chunk: usize) -> Option<IndexPart> {
    let within = search.then_some(SEARCH_WITHIN);
    let mut ix = ChunkIndexer::part(layer.len() as u64, from, within, stop);
    if feed_at_need(&mut ix, layer, chunk) { ix.finish_part() } else { None }
}

/// The browser's split walk: the first part stops at `split`, the second searches from
/// there; when they share no boundary (or the second gives up), the first walks on from
/// its stop. Returns the whole index and whether the second part was used.
fn split_walk(layer: &[u8], split: u64, chunk: usize) -> Option<(LayerIndex, bool)> {
    let first = part_at_need(layer, 0, false, Some(split), chunk)?;
    let stop = first.stopped_at;
    let second = part_at_need(layer, split, true, None, chunk);
    let first = match second.map(|second| splice(first.clone(), second)) {
        Some(Ok(index)) => return Some((index, stop.is_some())),
        Some(Err(None)) => return None,
        _ => first,
    };
    let Some(stop) = stop else {
        return Some((first.index, false));
    };
    let rest = part_at_need(layer, stop, false, None, chunk)?;
    let index = splice(first, rest).expect("a walk on from the stop always joins");
    Some((index, false))
}

fn check_splits(name: &str, layer: &[u8], step: usize) -> usize {
    let want = sync_index(layer).map(|ix| ix.entries);
    let mut spliced = 0;
    for split in (512..layer.len()).step_by(step) {
        for chunk in [512, 4096, 1 << 20] {
            let got = split_walk(layer, split as u64, chunk);
            if let Some((_, true)) = &got {
                spliced += 1;
            }
            assert_eq!(
                got.map(|(ix, _)| ix.entries).as_ref(),
                want.as_ref(),
                "{name}: split at {split}, chunk {chunk}"
            );
        }
    }
    spliced
}

#[test]
fn a_layer_walked_in_two_parts_equals_one_walk() {
    for (name, layer) in [
        ("gnu long names", varied_layer(LongNames::Gnu)),
        ("pax long names", varied_layer(LongNames::Pax)),
    ] {
        let spliced = check_splits(name, &layer, 512 * 13);
        assert!(spliced > 100, "{name}: most splits join the two parts ({spliced})");
    }
    // every block of a small layer, including splits inside extension headers
    let mut t = TarWriter::with_long_names(LongNames::Pax);
    for i in 0..12 {
        t.file(format!("d/{}{i}", "long-".repeat(i * 9)), filler(i * 300, i as u8));
    }
    check_splits("every block", &t.finish(), 512);
    let mut t = TarWriter::new();
    t.file("a", b"hello");
    t.file("b", filler(5000, 7));
    check_splits("no end marker", &t.finish_without_end(), 512);
}

#[test]
fn a_tar_stored_inside_a_layer_misleads_the_second_part_but_not_the_index() {
    // The second part's search finds the inner tar's headers first; its walk never passes
    // through the first part's stop, so the first part walks on.
    let mut inner = TarWriter::new();
    for i in 0..30 {
        inner.file(format!("inner/{i}"), filler(700, i as u8));
    }
    let inner = inner.finish();
    let mut t = TarWriter::new();
    t.file("before", filler(2000, 1));
    t.file("nested.tar", inner.clone());
    t.file("after", filler(3000, 2));
    let layer = t.finish();
    let want = sync_index(&layer).unwrap().entries;
    let split = 512 * 8; // inside nested.tar's data, before its first inner header
    let first = part_at_need(&layer, 0, false, Some(split), 4096).unwrap();
    let second = part_at_need(&layer, split, true, None, 4096).unwrap();
    assert!(second.index.entries.iter().any(|e| e.path.starts_with(b"inner/")), "the search landed in the inner tar");
    let stop = match splice(first.clone(), second) {
        Err(Some(stop)) => stop,
        other => panic!("expected no shared boundary, got {other:?}"),
    };
    let rest = part_at_need(&layer, stop, false, None, 4096).unwrap();
    assert_eq!(splice(first, rest).unwrap().entries, want);
}

#[test]
fn a_second_part_with_no_header_to_find_gives_up() {
    let mut t = TarWriter::new();
    t.file("a", filler(100, 1));
    t.file("big", filler(20_000, 2));
    let layer = t.finish();
    // past the last header: only file data and the end marker are left
    assert!(part_at_need(&layer, 512 * 4, true, None, 4096).is_none());
    // a split inside a file bigger than the search window
    let mut t = TarWriter::new();
    t.file("huge", filler(SEARCH_WITHIN as usize + 100_000, 3));
    t.file("small", filler(10, 4));
    let layer = t.finish();
    assert!(part_at_need(&layer, 1024, true, None, 1 << 20).is_none(), "gave up within the window");
    assert_eq!(split_walk(&layer, 1024, 1 << 20).unwrap().0.entries, sync_index(&layer).unwrap().entries);
    // a first part whose stop is past the end is the whole index
    let whole = part_at_need(&layer, 0, false, Some(layer.len() as u64 * 2), 4096).unwrap();
    assert_eq!(whole.stopped_at, None);
    assert_eq!(whole.index.entries, sync_index(&layer).unwrap().entries);
}

#[test]
fn a_pax_global_header_is_not_an_entry() {
    // Docker, containerd and podman skip `g` entries when they unpack; so does every walk.
    let mut t = TarWriter::new();
    let mut global = Entry::new("pax_global_header", strata::fixture::Kind::Other(b'g'));
    global.data = b"13 comment=x\n".to_vec();
    t.entry(&global);
    t.file("a", b"hello");
    t.entry(&global);
    t.file("b", filler(5000, 7));
    let layer = t.finish();
    let names = |ix: &LayerIndex| ix.entries.iter().map(|e| String::from_utf8_lossy(&e.path).into_owned()).collect::<Vec<_>>();
    assert_eq!(names(&sync_index(&layer).expect("index")), ["a", "b"]);
    let (streamed, problem) = strata::layer::index_stream(&mut layer.as_slice());
    assert!(problem.is_none(), "{problem:?}");
    assert_eq!(names(&streamed), ["a", "b"]);
    check_all_ways("global headers", &layer);
}

#[test]
fn a_zero_byte_layer_is_an_empty_tar() {
    let ix = sync_index(&[]).expect("a zero-byte layer is an empty tar, as Go's archive/tar reads it");
    assert!(ix.entries.is_empty());
}
