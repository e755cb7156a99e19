//! What each fuzz target checks, as plain functions of the input bytes: the targets in
//! `fuzz_targets/` call them under libFuzzer, and `tests/fuzz_regressions.rs` replays the
//! inputs the fuzzer found through the very same code (`#[path]`-included in both).
//!
//! A check panics on a bug: a panic inside strata (wasm would die), or a broken invariant
//! (a divergence between walks, a codec that does not round-trip, ...). Refusing odd input
//! with an error is fine.
#![allow(dead_code)]

use std::io::{Cursor, Read};
use strata::chunk_index::{self, ChunkIndexer, Need};
use strata::gzip::{AccessIndex, AccessPoint, GzipReader};
use strata::layer::{self, EntryKind, LayerEntry, LayerIndex};
use strata::merge::diff::{diff_images, diff_trees, TreeSide};
use strata::merge::read::ContentSource;
use strata::merge::source::{image_layers, ArchiveSource};
use strata::merge::view::{layer_markers, list_dir, list_recursive, path_story, ListOptions, SortOrder};
use strata::merge::{export, read, waste, MergedTree};
use strata::report::Compression;
use strata::{codec, decompress, detect, pax, Archive, Error};

// --- the outer scan + resolve + verify ---------------------------------------------------

/// `Archive::open` + `index_layers` + `verify` on a cursor (the CLI's path), then what the
/// views ask of every image: the merged tree, a listing, a few files, the rootfs export,
/// waste, and diffs between images.
pub fn archive(data: &[u8]) {
    let _ = archive_inner(data);
}

fn archive_inner(data: &[u8]) -> Result<(), Error> {
    let mut src = Cursor::new(data);
    let mut ar = Archive::open(&mut src, &mut |_| {})?;
    ar.index_layers(&mut src, &mut |_| {})?;
    ar.verify(&mut src, &mut |_| {})?;
    let report = ar.report().clone();
    serde_json::to_string(&report).expect("the report serialises");
    let mut trees = Vec::new();
    for img in report.images.iter().take(4) {
        let layers = image_layers(&ar, img);
        let tree = MergedTree::build(&layers.indexes);
        let rows = list_recursive(&tree, &layers.indexes, b"", &ListOptions::default()).unwrap_or_default();
        {
            let mut source = ArchiveSource::new(&ar, &mut src, layers.blobs.clone());
            for r in rows.iter().filter(|r| r.kind == EntryKind::File).take(8) {
                let path = layer::parse_display_path(&r.path);
                if let Ok((_, rd)) = read::open_file(&tree, &layers.indexes, &mut source, &path) {
                    let _ = std::io::copy(&mut rd.take(1 << 20), &mut std::io::sink());
                }
                if let Ok((_, rd)) = read::open_file_from(&tree, &layers.indexes, &mut source, &path, r.size / 2) {
                    let _ = std::io::copy(&mut rd.take(1 << 20), &mut std::io::sink());
                }
            }
            let _ = export::export_rootfs(&tree, &layers.indexes, &mut source, &mut std::io::sink());
        }
        let _ = waste::analyze(&tree, &layers.indexes);
        trees.push((layers, tree));
    }
    for (i, (la, ta)) in trees.iter().enumerate().take(2) {
        for (j, (lb, tb)) in trees.iter().enumerate().skip(i).take(2) {
            let a = TreeSide { tree: ta, layers: &la.indexes };
            let b = TreeSide { tree: tb, layers: &lb.indexes };
            let _ = diff_images(&report.images[i], a, &report.images[j], b);
        }
    }
    Ok(())
}

// --- the layer walks ----------------------------------------------------------------------

/// Feed a chunk indexer where it asks, `chunk` bytes at a time (as the page's read-ahead
/// does, minus the read-ahead). `None` when it gives up.
fn feed_at_need(mut ix: ChunkIndexer, layer: &[u8], chunk: usize) -> Option<ChunkIndexer> {
    let mut feeds = 0usize;
    loop {
        match ix.need() {
            Need::Done => return Some(ix),
            Need::GiveUp => return None,
            Need::At(at) => {
                let at = at as usize;
                if at >= layer.len() {
                    // The page has nothing past the layer's end to give.
                    let _ = ix.feed(at as u64, &[]);
                    return matches!(ix.need(), Need::Done).then_some(ix);
                }
                let end = at.saturating_add(chunk).min(layer.len());
                ix.feed(at as u64, &layer[at..end]);
                feeds += 1;
                assert!(feeds <= layer.len() + 16, "the chunk indexer asked for bytes {feeds} times: no progress");
            }
        }
    }
}

/// The whole layer front to back in `chunk`-sized pieces, never jumping (pieces the walk
/// already skipped are fed anyway, as late read-ahead arrives).
fn fed_sequentially(layer: &[u8], chunk: usize) -> Option<LayerIndex> {
    let mut ix = ChunkIndexer::new(layer.len() as u64);
    for (k, piece) in layer.chunks(chunk).enumerate() {
        match ix.feed((k * chunk) as u64, piece) {
            Need::Done => break,
            Need::GiveUp => return None,
            Need::At(_) => {}
        }
    }
    if let Need::At(at) = ix.need() {
        if at >= layer.len() as u64 {
            let _ = ix.feed(at, &[]);
        }
    }
    ix.finish()
}

fn fed_whole(layer: &[u8], chunk: usize) -> Option<LayerIndex> {
    feed_at_need(ChunkIndexer::new(layer.len() as u64), layer, chunk)?.finish()
}

/// The browser's two-part walk: the first part stops at `split`, the second searches for a
/// header from there; when they share no boundary, the first walks on from its stop.
fn split_walk(layer: &[u8], split: u64, chunk: usize) -> Option<LayerIndex> {
    let size = layer.len() as u64;
    let first = feed_at_need(ChunkIndexer::part(size, 0, None, Some(split)), layer, chunk)?.finish_part()?;
    let stop = first.stopped_at;
    let second = feed_at_need(ChunkIndexer::part(size, split, Some(4 << 20), None), layer, chunk).and_then(|p| p.finish_part());
    let first = match second.map(|second| chunk_index::splice(first.clone(), second)) {
        Some(Ok(index)) => return Some(index),
        Some(Err(None)) => return None,
        _ => first,
    };
    let Some(stop) = stop else {
        return Some(first.index);
    };
    let rest = feed_at_need(ChunkIndexer::part(size, stop, None, None), layer, chunk)?.finish_part()?;
    Some(chunk_index::splice(first, rest).expect("a walk on from the first part's stop always joins it"))
}

/// The entries without their content hash (only the streaming walk reads file data).
fn entries(ix: &LayerIndex) -> Vec<LayerEntry> {
    ix.entries.iter().map(|e| LayerEntry { content_hash: None, ..e.clone() }).collect()
}

fn show(e: &LayerEntry) -> String {
    format!(
        "{:?} {} size {} link {:?} at {} mode {:o} {}:{} mtime {} dev {},{}",
        e.kind,
        layer::display_path(&e.path),
        e.size,
        e.link.as_deref().map(layer::display_path),
        e.data_offset,
        e.mode,
        e.uid,
        e.gid,
        e.mtime,
        e.dev_major,
        e.dev_minor
    )
}

fn same_entries(what: &str, got: &[LayerEntry], want_what: &str, want: &[LayerEntry]) {
    if got == want {
        return;
    }
    let at = got.iter().zip(want).position(|(a, b)| a != b).unwrap_or(got.len().min(want.len()));
    panic!(
        "DIVERGENCE: the {what} walk and the {want_what} walk disagree at entry {at} ({} vs {} entries):\n  {what}: {}\n  {want_what}: {}",
        got.len(),
        want.len(),
        got.get(at).map_or("(none)".into(), show),
        want.get(at).map_or("(none)".into(), show),
    );
}

/// Every layer walk over `data` (streaming, seeking, chunk-fed in several chunk sizes,
/// fed sequentially, two parts spliced at a few split points), under the tar guard. Walks
/// that accept the layer must list the same entries; what the streaming walk refuses,
/// the headers-only walks must refuse too; the chunk size never changes the outcome.
pub fn layer_walks(data: &[u8]) {
    layer_walks_with(data, true)
}

/// The same check. (While the walks disagreed on a layer cut inside its last entry's padding,
/// fixed since, the target tolerated that case; `strict: false` still does.)
pub fn layer_walks_strict(data: &[u8]) {
    layer_walks_with(data, true)
}

fn layer_walks_with(data: &[u8], strict: bool) {
    let (streamed, problem) = layer::index_stream(&mut &data[..]);
    let known = !strict && problem.as_ref().is_some_and(|p| p.message.to_string().contains("during skip"));
    let problem = if known { None } else { problem };
    let streamed = problem.is_none().then(|| entries(&streamed));
    let seeked = Archive::quick_index_span(&mut Cursor::new(data), 0, data.len() as u64).map(|ix| entries(&ix));
    let looks_compressed = detect::compression(&data[..data.len().min(512)]) != Compression::None;

    let mut fed: Option<Option<Vec<LayerEntry>>> = None;
    for chunk in [13usize, 512, 4096, 1 << 20] {
        let got = fed_whole(data, chunk).map(|ix| entries(&ix));
        let what = format!("chunk-fed ({chunk}-byte chunks)");
        match &fed {
            None => fed = Some(got.clone()),
            Some(first) => match (first, &got) {
                (Some(a), Some(b)) => same_entries(&what, b, "chunk-fed (13-byte chunks)", a),
                (a, b) => assert_eq!(a.is_some(), b.is_some(), "DIVERGENCE: the chunk size changed whether the chunk-fed walk accepts the layer ({what})"),
            },
        }
        check_against(&what, got.as_deref(), streamed.as_deref(), seeked.as_deref(), &problem, looks_compressed);
    }
    for chunk in [700usize, 65536] {
        let got = fed_sequentially(data, chunk).map(|ix| entries(&ix));
        check_against(&format!("sequentially fed ({chunk}-byte chunks)"), got.as_deref(), streamed.as_deref(), seeked.as_deref(), &problem, looks_compressed);
    }
    let len = data.len() as u64;
    for split in [len / 2, len / 3, len / 5 * 4, 1024] {
        if split < 512 || split >= len {
            continue;
        }
        for chunk in [700usize, 1 << 20] {
            let got = split_walk(data, split, chunk).map(|ix| entries(&ix));
            check_against(&format!("two-part (split at {split}, {chunk}-byte chunks)"), got.as_deref(), streamed.as_deref(), seeked.as_deref(), &problem, looks_compressed);
        }
    }
    if let (Some(s), Some(k)) = (&streamed, &seeked) {
        same_entries("seeking", k, "streaming", s);
    }
    if let Some(p) = &problem {
        assert!(seeked.is_none(), "DIVERGENCE: the seeking walk accepted what the streaming walk refused: {}", p.message);
    }
}

fn check_against(
    what: &str,
    got: Option<&[LayerEntry]>,
    streamed: Option<&[LayerEntry]>,
    seeked: Option<&[LayerEntry]>,
    problem: &Option<layer::IndexProblem>,
    looks_compressed: bool,
) {
    let Some(got) = got else { return };
    if let Some(p) = problem {
        panic!("DIVERGENCE: the {what} walk accepted what the streaming walk refused: {}", p.message);
    }
    if let Some(s) = streamed {
        same_entries(what, got, "streaming", s);
    }
    match seeked {
        Some(k) => same_entries(what, got, "seeking", k),
        None if !looks_compressed => panic!("DIVERGENCE: the {what} walk accepted what the seeking walk refused"),
        None => {}
    }
}

// --- PAX records --------------------------------------------------------------------------

/// `pax::parse` must not panic, and must agree with a reference re-parse written from Go's
/// `archive/tar` (`parsePAXRecord`, `validPAXRecord`, `mergePAX`), the reader of Docker,
/// containerd and podman.
pub fn pax(data: &[u8]) {
    pax_strict(data);
}

/// The same check (the divergences it found are fixed; the name stays for the regression tests).
pub fn pax_strict(data: &[u8]) {
    let got = pax::parse(data);
    let want = go_pax(data);
    match (&got, &want) {
        (Ok(g), Ok(w)) => assert!(
            g.path == w.path && g.linkpath == w.linkpath && g.size == w.size && g.uid == w.uid && g.gid == w.gid && g.mtime == w.mtime,
            "DIVERGENCE from Go's PAX reading:\n  strata: {g:?}\n  Go:     {w:?}"
        ),
        (Err(_), Err(_)) => {}
        (g, w) => panic!("DIVERGENCE from Go's PAX reading: strata {g:?}, Go {w:?}"),
    }
}

/// Go's reading of one PAX `x` header (Go 1.22 `reader.go` / `strconv.go`), as little code as
/// can say it. Returns what strata keeps of it.
pub fn go_pax(mut s: &[u8]) -> Result<pax::PaxRecords, &'static str> {
    use std::collections::HashMap;
    let mut recs: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    while !s.is_empty() {
        // parsePAXRecord
        let sp = s.iter().position(|&b| b == b' ').ok_or("no space")?;
        let n = go_parse_int(&s[..sp]).ok_or("bad length")?;
        if n < 5 || n > s.len() as i64 {
            return Err("length");
        }
        let n = n as usize;
        if n <= sp + 1 {
            return Err("length");
        }
        let rec = &s[sp + 1..n - 1];
        if s[n - 1] != b'\n' {
            return Err("newline");
        }
        let eq = rec.iter().position(|&b| b == b'=').ok_or("no =")?;
        let (k, v) = (&rec[..eq], &rec[eq + 1..]);
        // validPAXRecord
        if k.is_empty() {
            return Err("empty key");
        }
        let nul_checked = matches!(k, b"path" | b"linkpath" | b"uname" | b"gname");
        if (nul_checked && v.contains(&0)) || (!nul_checked && k.contains(&0)) {
            return Err("NUL");
        }
        recs.insert(k.to_vec(), v.to_vec());
        s = &s[n..];
    }
    // mergePAX: an empty value keeps the ustar field.
    let mut out = pax::PaxRecords::default();
    for (k, v) in recs {
        if v.is_empty() {
            continue;
        }
        match &k[..] {
            b"path" => out.path = Some(v),
            b"linkpath" => out.linkpath = Some(v),
            b"size" => {
                let n = go_parse_int(&v).ok_or("size")?;
                if n < 0 {
                    return Err("negative size"); // (Reader.Next: ErrHeader)
                }
                out.size = Some(n as u64);
            }
            b"uid" => out.uid = Some(go_parse_int(&v).ok_or("uid")?.max(0) as u64),
            b"gid" => out.gid = Some(go_parse_int(&v).ok_or("gid")?.max(0) as u64),
            b"mtime" => {
                // parsePAXTime: seconds, then an optional `.digits`
                let (secs, frac) = match v.iter().position(|&b| b == b'.') {
                    Some(i) => (&v[..i], &v[i + 1..]),
                    None => (&v[..], &[][..]),
                };
                let secs = go_parse_int(secs).ok_or("mtime")?;
                if !frac.iter().all(u8::is_ascii_digit) {
                    return Err("mtime");
                }
                out.mtime = Some(secs.max(0) as u64);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// `strconv.ParseInt(s, 10, 64)`: an optional sign, then decimal digits, in range.
fn go_parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut n: i128 = 0;
    for d in digits {
        n = n * 10 + i128::from(d - b'0');
        if n > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    let n = if neg { -n } else { n };
    i64::try_from(n).ok()
}

// --- decompressors and the gzip access-point reader ---------------------------------------

/// Decompressed bytes kept per stream: past this the comparisons stop (a fuzz input is
/// small, but a few KiB of gzip can claim megabytes).
const CAP: u64 = 24 << 20;

/// Read `r` to its end (at most `CAP` bytes): the bytes, whether it ended cleanly.
fn drain(r: &mut dyn Read) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let ok = r.take(CAP + 1).read_to_end(&mut out).is_ok();
    let complete = ok && out.len() as u64 <= CAP;
    (out, complete)
}

/// Every decompressor over `data`: the recording decoder read to its end, the plain one
/// (same bytes), flate2's own gzip reader for a gzip stream (same bytes when both read it
/// to the end), then a restart at every access point recorded (`decoder_at`) must give the
/// same bytes as the one pass from there on. A restart at a made-up point must not panic.
pub fn decompress(data: &[u8]) {
    for c in [Compression::Gzip, Compression::Zstd, Compression::Xz] {
        let _ = decompress::window_size(c, data);
        let Ok(mut rec) = decompress::recording_decoder(c, Box::new(data)) else { continue };
        let (full, complete) = drain(&mut rec);
        let index = rec.take_access_index();
        let _ = rec.largest_window();
        drop(rec);
        if let Ok(mut plain) = decompress::decoder(c, Box::new(data)) {
            let (again, again_complete) = drain(&mut plain);
            if complete && again_complete {
                assert!(again == full, "{c:?}: the recording and the plain decoder disagree ({} vs {} bytes)", full.len(), again.len());
            }
        }
        if c == Compression::Gzip && complete {
            let mut reference = flate2::read::MultiGzDecoder::new(data);
            let (want, want_complete) = drain(&mut reference);
            if want_complete && data.len() > 18 {
                // (flate2 stops quietly at garbage after a member; strata refuses it, so
                // only a prefix relation holds.)
                assert!(full.starts_with(&want) || want.starts_with(&full), "gzip: strata and flate2 decompress to different bytes ({} vs {})", full.len(), want.len());
            }
        }
        if let Some(index) = &index {
            let mut last = 0;
            for p in &index.points {
                assert!(p.out >= last, "{c:?}: access points out of order");
                last = p.out;
            }
            if complete {
                for p in index.points.iter().take(6) {
                    for target in [p.out, p.out + 1, p.out + 40_000] {
                        if target > full.len() as u64 {
                            continue;
                        }
                        let reader = decompress::decoder_at(c, Some(index), target, |at| {
                            Ok(Box::new(&data[(at as usize).min(data.len())..]) as Box<dyn Read>)
                        });
                        let Ok(mut reader) = reader else {
                            panic!("{c:?}: a restart at byte {target} (access point at {}) failed", p.out);
                        };
                        let (rest, _) = drain(&mut reader);
                        let want = &full[target as usize..];
                        assert!(
                            rest.len() >= want.len().min(1 << 20) && rest[..want.len().min(rest.len())] == want[..want.len().min(rest.len())],
                            "{c:?}: a restart at byte {target} (access point at {}) gives other bytes than the one pass",
                            p.out
                        );
                    }
                }
            }
        }
    }
    // A made-up access point (as a damaged facts encoding could carry one).
    if data.len() >= 9 {
        let bit = u64::from_le_bytes(data[..8].try_into().unwrap()) % (data.len() as u64 * 8 + 16);
        let window = data[8..].iter().take(usize::from(data[8]) * 130).copied().collect();
        let point = AccessPoint { out: 0, bit, window };
        if let Ok(mut r) = GzipReader::resume(&point, &data[(bit / 8).min(data.len() as u64) as usize..]) {
            let _ = drain(&mut r);
        }
        let index = AccessIndex { spacing: 1, points: vec![point] };
        for c in [Compression::Gzip, Compression::Zstd] {
            if let Ok(mut r) = decompress::decoder_at(c, Some(&index), u64::from(data[1]), |at| {
                Ok(Box::new(&data[(at as usize).min(data.len())..]) as Box<dyn Read>)
            }) {
                let _ = drain(&mut r);
            }
        }
    }
}

// --- the facts codec ----------------------------------------------------------------------

/// Decode arbitrary bytes as an index, a part and facts; whatever decodes must re-encode
/// to bytes that decode to the same thing. And an index made from the bytes (as the merge
/// target makes them) must round-trip exactly.
pub fn codec(data: &[u8]) {
    if let Ok(ix) = codec::decode_index(data) {
        let bytes = codec::encode_index(&ix);
        let again = codec::decode_index(&bytes).expect("an encoded index decodes");
        assert_eq!(again.entries, ix.entries, "index round trip");
        assert_eq!(again.uncompressed_size, ix.uncompressed_size, "index round trip");
        assert_eq!(codec::encode_index(&again), bytes, "index re-encoding");
    }
    if let Ok(part) = codec::decode_part(data) {
        let bytes = codec::encode_part(&part);
        let again = codec::decode_part(&bytes).expect("an encoded part decodes");
        assert_eq!(again.index.entries, part.index.entries, "part round trip");
        assert_eq!((again.starts.clone(), again.stopped_at), (part.starts.clone(), part.stopped_at), "part round trip");
        assert_eq!(codec::encode_part(&again), bytes, "part re-encoding");
    }
    if let Ok(facts) = codec::decode_facts(data) {
        let bytes = codec::encode_facts(&facts);
        let again = codec::decode_facts(&bytes).expect("encoded facts decode");
        assert_eq!(
            serde_json::to_value(&again).expect("json"),
            serde_json::to_value(&facts).expect("json"),
            "facts round trip"
        );
        assert_eq!(codec::encode_facts(&again), bytes, "facts re-encoding");
    }
    let layers = made_layers(data);
    for ix in &layers {
        let again = codec::decode_index(&codec::encode_index(ix)).expect("an encoded index decodes");
        assert_eq!(again.entries, ix.entries, "made index round trip");
        assert_eq!(again.uncompressed_size, ix.uncompressed_size);
    }
}

// --- merging ------------------------------------------------------------------------------

/// Bytes read one at a time, zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }
    fn number(&mut self) -> u64 {
        match self.byte() % 8 {
            0 => 0,
            // (Sums of sizes near 2^64 overflowed in the merge: they saturate since.)
            1 => u64::MAX,
            2 => u64::from(self.byte()) << 32,
            _ => u64::from(self.byte()) * 100 + u64::from(self.byte()),
        }
    }
}

/// Path components that make the merge's cases: whiteouts, opaque markers, AUFS metadata,
/// `..`, odd bytes, and a few plain names that collide.
const NAMES: &[&[u8]] = &[
    b"a", b"b", b"c", b"etc", b"d", b".wh.a", b".wh.b", b".wh.etc", b".wh..wh..opq", b".wh..wh.plnk", b".wh..wh.aufs",
    b".wh.", b"..", b".", b"x\ny", b"\xff\xfe", b"", b"a b", b"\\x41",
];

fn made_path(b: &mut Bytes<'_>) -> Vec<u8> {
    let n = 1 + b.below(4);
    let mut parts: Vec<&[u8]> = Vec::new();
    for _ in 0..n {
        parts.push(NAMES[b.below(NAMES.len())]);
    }
    let mut p = parts.join(&b'/');
    if b.byte() % 16 == 0 {
        p.insert(0, b'/');
    }
    p
}

/// Layer indexes made from the bytes: 1–4 layers of up to 24 entries each.
pub fn made_layers(data: &[u8]) -> Vec<LayerIndex> {
    let mut b = Bytes(data);
    let layers = 1 + b.below(4);
    let mut out = Vec::new();
    for _ in 0..layers {
        let n = b.below(25);
        let mut entries = Vec::new();
        for _ in 0..n {
            let kind = [
                EntryKind::File,
                EntryKind::Dir,
                EntryKind::Symlink,
                EntryKind::Hardlink,
                EntryKind::File,
                EntryKind::Dir,
                EntryKind::Char,
                EntryKind::Fifo,
                EntryKind::Other,
                EntryKind::Block,
            ][b.below(10)];
            let path = layer::normalize_path(&made_path(&mut b));
            let link = match kind {
                EntryKind::Symlink => Some(made_path(&mut b).into_boxed_slice()),
                EntryKind::Hardlink => Some(layer::normalize_path(&made_path(&mut b))),
                _ => None,
            };
            let size = if kind == EntryKind::File { b.number() } else { 0 };
            let hash = b.byte();
            entries.push(LayerEntry {
                path,
                kind,
                size,
                mode: u32::from(b.byte()) << 4 | u32::from(b.byte() & 0o17),
                uid: if b.byte() % 8 == 0 { u64::MAX } else { b.number() },
                gid: u64::from(b.byte()),
                mtime: if b.byte() % 8 == 0 { u64::MAX } else { b.number() },
                link,
                data_offset: b.number(),
                content_hash: (hash % 4 != 0).then_some(u64::from(hash / 4)),
                dev_major: u32::from(b.byte()),
                dev_minor: 0,
                sparse: None,
            });
        }
        out.push(LayerIndex { entries, uncompressed_size: b.number() });
    }
    out
}

/// A content source that serves every file as `size` zero bytes (at most 64 KiB).
struct Zeros;

impl ContentSource for Zeros {
    fn open_entry(&mut self, _layer: usize, entry: &LayerEntry) -> Result<Box<dyn Read + '_>, Error> {
        Ok(Box::new(std::io::repeat(0).take(entry.size.min(64 << 10))))
    }
}

/// Merge layers made from the bytes, and everything the views do with the merge. No
/// panic; and: every listed path is found in the tree, the merge is deterministic, the
/// waste is at most the file bytes, an image diffed with itself has no additions or
/// removals.
pub fn merge(data: &[u8]) {
    let layers = made_layers(data);
    let refs: Vec<&LayerIndex> = layers.iter().collect();
    let tree = MergedTree::build(&refs);
    let rows = list_recursive(&tree, &refs, b"", &ListOptions::default()).expect("the root lists");
    for r in &rows {
        let raw = layer::parse_display_path(&r.path);
        assert!(tree.find(&raw).is_some(), "listed {:?} is not in the tree", r.path);
        if r.children.is_some() {
            let _ = list_dir(&tree, &refs, &raw, &ListOptions { sort: SortOrder::Size, ..Default::default() });
        }
        let _ = read::resolve(&tree, &refs, &raw, true);
        let _ = read::file_content(&tree, &refs, &raw);
        let _ = path_story(&refs, &raw);
    }
    let again = MergedTree::build(&refs);
    let rows_again = list_recursive(&again, &refs, b"", &ListOptions::default()).expect("the root lists");
    assert!(rows == rows_again, "two merges of the same layers list differently");

    let w = waste::analyze(&tree, &refs);
    assert!(w.wasted_bytes <= w.total_file_bytes, "waste {} > file bytes {}", w.wasted_bytes, w.total_file_bytes);
    assert_eq!(w.per_layer.len(), refs.len(), "waste per layer");

    let side = TreeSide { tree: &tree, layers: &refs };
    let (changes, sum) = diff_trees(side, TreeSide { tree: &again, layers: &refs });
    assert!(sum.added == 0 && sum.removed == 0, "an image diffed with itself adds or removes: {changes:?}");

    for problem in tree.problems() {
        let _ = problem.to_finding();
    }
    for k in 0..refs.len() {
        let part = MergedTree::build(&refs[..=k]);
        let _ = part.change_counts(k);
        let opts = ListOptions { changes_of_layer: Some(k as u32), full_tree: Some(&tree), only_changes: true, ..Default::default() };
        let _ = list_recursive(&part, &refs[..=k], b"", &opts);
        let _ = layer_markers(&part, &refs[..=k], k, 100);
        for r in rows.iter().take(10) {
            let _ = read::layer_file(&part, &refs[..=k], k, &layer::parse_display_path(&r.path));
        }
        if k + 1 < refs.len() {
            let _ = diff_trees(TreeSide { tree: &part, layers: &refs[..=k] }, side);
        }
    }
    let _ = export::export_rootfs(&tree, &refs, &mut Zeros, &mut std::io::sink());
}

// --- the package readers ------------------------------------------------------------------

/// Every package reader over the same bytes (dpkg status and file lists, apk installed,
/// Python METADATA, npm package.json, os-release, rpm's SQLite, Berkeley DB and NDB
/// databases, Go build information, a jar's pom.properties): none may panic, and what they
/// return is bounded by the input — no more packages than bytes, no more text than a few
/// times the bytes (a reader that hands the same bytes out again and again, through a loop
/// or shared pages, would grow memory with a hostile file's structure, not its size).
pub fn packages(data: &[u8]) {
    use strata::packages::{apk, dpkg, golang, maven, npm, os_release, purl, python, rpm, Limits, Parsed};
    let limits = Limits { max_packages: 10_000, max_record_bytes: 64 << 10, ..Limits::default() };
    let size = data.len() as u64;
    let read_at = |offset: u64, buf: &mut [u8]| -> Result<(), String> {
        let start = usize::try_from(offset).map_err(|_| "offset past the end".to_string())?;
        let end = start.checked_add(buf.len()).filter(|&e| e <= data.len()).ok_or("read past the end")?;
        buf.copy_from_slice(&data[start..end]);
        Ok(())
    };
    let check = |what: &str, parsed: Result<Parsed, String>| {
        let Ok(parsed) = parsed else { return };
        assert!(parsed.packages.len() <= data.len().max(1), "{what}: {} packages from {} bytes", parsed.packages.len(), data.len());
        let mut text = 0usize;
        for p in &parsed.packages {
            text += p.name.len() + p.version.len() + p.arch.as_ref().map_or(0, String::len) + p.source.as_ref().map_or(0, String::len);
            text += p.licenses.iter().map(String::len).sum::<usize>();
            let purl = purl::purl(p, None);
            assert!(purl.starts_with("pkg:"), "{what}: {purl}");
        }
        assert!(text <= 8 * data.len() + 1024, "{what}: {text} bytes of package text from {} bytes", data.len());
        for problem in &parsed.problems {
            assert!(problem.len() <= 4096 + data.len().min(1 << 20), "{what}: a problem of {} bytes", problem.len());
        }
    };
    check("dpkg", dpkg::parse(&mut &data[..], "/var/lib/dpkg/status", &limits));
    check("dpkg file list", dpkg::parse_file_list(&mut &data[..], &limits));
    check("apk", apk::parse(&mut &data[..], "/lib/apk/db/installed", &limits));
    check("python", python::parse(data, "/usr/lib/python3/site-packages/x-1.dist-info/METADATA"));
    check("npm", npm::parse(data, "/app/node_modules/x/package.json"));
    let os = os_release::parse(&String::from_utf8_lossy(data));
    let _ = os.distro();
    check("rpm sqlite", rpm::parse_sqlite(read_at, size, "/var/lib/rpm/rpmdb.sqlite", &limits));
    check("rpm bdb", rpm::parse_bdb(read_at, size, "/var/lib/rpm/Packages", &limits));
    check("rpm ndb", rpm::parse_ndb(read_at, size, "/var/lib/rpm/Packages.db", &limits));
    check("go", golang::parse_binary(read_at, size, "/usr/bin/x", &limits));
    check("jar", maven::parse_jar(read_at, size, "/app/x.jar", &limits));
}
