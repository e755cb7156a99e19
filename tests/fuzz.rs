//! Random damage to real archives, run through every operation the page and the CLI run
//! on them: the page's path (headers-only walks fed in chunks, big layers in two parts
//! spliced, blobs analysed with both digests computed "elsewhere", facts handed over) and
//! the CLI's (index, verify), then the merged tree of every image, every directory listed,
//! files read, each layer's own view, waste, the Dockerfile, diffs between images, the
//! rootfs and layer exports. None of it may panic (a panic in wasm kills the page) or hang.
//!
//! The damage is seeded and deterministic. Besides flipped bits, cut tails and overwritten
//! runs, it rewrites fields of tar headers, in the outer tar and in the uncompressed layers
//! inside it, and fixes their checksums so the walks accept them: sizes (octal, base-256,
//! absurd), type flags, names and link names (`..`, whiteouts, absolute, long, empty), so
//! the merge sees the odd layers a hostile archive can hold.
//!
//! `STRATA_FUZZ_CASES` (default 6000) sets how many damaged archives; `STRATA_FUZZ_SEED` the
//! seed. A failure names the seed and case, to replay it alone with `STRATA_FUZZ_ONLY=<case>`.

mod common;

use common::damage::{damaged, target, Rng, Target};
use common::*;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use strata::chunk_index::{self, ChunkIndexer, Need};
use strata::io::{SharedSource, Window};
use strata::merge::diff::{diff_images, TreeSide};
use strata::merge::source::{export_layer, image_layers, ArchiveSource};
use strata::merge::view::{list_dir, list_recursive, ListOptions};
use strata::merge::{dockerfile, export, read, waste, MergedTree};
use strata::report::Compression;
use strata::{verify, Archive, Error};

/// Feed a chunk indexer from `layer` in chunks of random sizes, as the page's streams do.
fn feed(mut ix: ChunkIndexer, layer: &[u8], rng: &mut Rng) -> Option<ChunkIndexer> {
    for _ in 0..100_000 {
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
                let n = (1 + rng.below(70_000)).min(layer.len() - at);
                ix.feed(at as u64, &layer[at..at + n]);
            }
        }
    }
    panic!("the chunk indexer asked for bytes 100 000 times");
}

fn sha(bytes: &[u8]) -> String {
    strata::fixture::digest(bytes)
}

/// The page's path over one archive's bytes, then everything the views and the CLI ask.
fn everything(bytes: &[u8], rng: &mut Rng) -> Result<(), Error> {
    let mut src = Cursor::new(bytes);
    let mut ar = Archive::open(&mut src, &mut |_| {})?;
    let seekable = ar.compression() == strata::report::Compression::None;

    if seekable {
        // Headers-only walks, as the helpers run them (whole, or two parts spliced).
        for blob in ar.unindexed_layer_blobs() {
            let Some((offset, size)) = ar.blob_span(blob) else { continue };
            let end = (offset + size).min(bytes.len() as u64) as usize;
            let layer = &bytes[(offset as usize).min(end)..end];
            let ix = if rng.chance(50) {
                feed(ChunkIndexer::new(size), layer, rng).and_then(|ix| ix.finish())
            } else {
                let middle = size / 2 / 512 * 512;
                let first = feed(ChunkIndexer::part(size, 0, None, Some(middle)), layer, rng).and_then(|p| p.finish_part());
                let second =
                    feed(ChunkIndexer::part(size, middle, Some(4 << 20), None), layer, rng).and_then(|p| p.finish_part());
                match (first, second) {
                    (Some(first), Some(second)) => match chunk_index::splice(first.clone(), second) {
                        Ok(ix) => Some(ix),
                        Err(Some(stop)) => feed(ChunkIndexer::part(size, stop, None, None), layer, rng)
                            .and_then(|p| p.finish_part())
                            .and_then(|rest| chunk_index::splice(first, rest).ok()),
                        Err(None) => None,
                    },
                    _ => None,
                }
            };
            let ix = ix.or_else(|| Archive::quick_index_span(&mut src, offset, size));
            if let Some(ix) = ix {
                // Through the codec, as it crosses from a helper to the browsing worker.
                let ix = strata::codec::decode_index(&strata::codec::encode_index(&ix)).expect("own encoding decodes");
                ar.set_quick_index(blob, ix);
            }
        }
        // Hash and index each blob as the helpers do: the stored bytes' and the stream's
        // digests computed "elsewhere" (here: sha2), or the core's own path.
        for blob in ar.pending_blobs() {
            let Some((offset, size)) = ar.blob_span(blob) else { continue };
            if offset + size > bytes.len() as u64 || rng.chance(30) {
                let mut window = Window::new(&mut src, offset, size);
                let facts = Archive::analyze_blob(&mut window);
                let facts = strata::codec::decode_facts(&strata::codec::encode_facts(&facts)).expect("own encoding decodes");
                ar.set_blob_facts(blob, facts);
                continue;
            }
            let stored = &bytes[offset as usize..(offset + size) as usize];
            let mut stream = Vec::new();
            let mut facts = Archive::analyze_blob_digests_elsewhere(&mut &stored[..], &mut |piece| stream.extend_from_slice(piece));
            verify::set_digest(&mut facts, &sha(stored));
            if verify::wants_diff_id(&facts) {
                verify::set_diff_id(&mut facts, &sha(&stream));
            }
            ar.set_blob_facts(blob, facts);
        }
    }
    // The CLI's path (and what is left for the page's browsing worker).
    ar.index_layers(&mut src, &mut |_| {})?;
    ar.verify(&mut src, &mut |_| {})?;

    let report = ar.report().clone();
    let _ = serde_json::to_string(&report).expect("the report serialises");
    let mut trees = Vec::new();
    for img in &report.images {
        let layers = image_layers(&ar, img);
        let tree = MergedTree::build(&layers.indexes);
        let rows = list_recursive(&tree, &layers.indexes, b"", &ListOptions::default())?;
        for r in rows.iter().filter(|r| r.children.is_some()).take(40) {
            let _ = list_dir(&tree, &layers.indexes, r.path.trim_start_matches('/').as_bytes(), &ListOptions::default());
        }
        {
            let mut source = ArchiveSource::new(&ar, &mut src, layers.blobs.clone());
            for r in rows.iter().take(60) {
                let path = r.path.trim_start_matches('/').as_bytes().to_vec();
                if let Ok((_, mut rd)) = read::open_file(&tree, &layers.indexes, &mut source, &path) {
                    let _ = std::io::copy(&mut rd, &mut std::io::sink());
                }
                // A range from an offset (the page's "show more"), past the end too.
                let from = [0, 1, r.size / 2, u64::MAX][rng.below(4)];
                if let Ok((_, mut rd)) = read::open_file_from(&tree, &layers.indexes, &mut source, &path, from) {
                    let _ = std::io::copy(&mut rd, &mut std::io::sink());
                }
            }
            let _ = export::export_rootfs(&tree, &layers.indexes, &mut source, &mut std::io::sink());
        }
        for k in 0..layers.indexes.len() {
            let part = MergedTree::build(&layers.indexes[..=k]);
            let opts = ListOptions { changes_of_layer: Some(k as u32), full_tree: Some(&tree), only_changes: true, ..Default::default() };
            let _ = list_recursive(&part, &layers.indexes[..=k], b"", &opts);
            let _ = part.change_counts(k);
            if let Some(path) = rows.get(rng.below(rows.len().max(1))) {
                let _ = read::layer_file(&part, &layers.indexes[..=k], k, path.path.trim_start_matches('/').as_bytes());
            }
        }
        let _ = waste::analyze(&tree, &layers.indexes);
        for problem in tree.problems() {
            let _ = problem.to_finding();
        }
        let _ = dockerfile::to_text(&dockerfile::reconstruct(&img.history));
        for blob in layers.blobs.iter().flatten() {
            let _ = export_layer(&ar, &mut src, *blob, &mut std::io::sink());
        }
        trees.push((layers, tree));
    }
    for (i, (la, ta)) in trees.iter().enumerate() {
        for (j, (lb, tb)) in trees.iter().enumerate().skip(i) {
            let a = TreeSide { tree: ta, layers: &la.indexes };
            let b = TreeSide { tree: tb, layers: &lb.indexes };
            let _ = diff_images(&report.images[i], a, &report.images[j], b);
        }
    }
    // The kept-decoder source of the browser's Session, over a shared reader.
    let mut again = Cursor::new(bytes);
    let shared = SharedSource::new(&mut again);
    if let Some(img) = report.images.first() {
        let layers = image_layers(&ar, img);
        let tree = MergedTree::build(&layers.indexes);
        let mut source = ArchiveSource::with_kept(&ar, shared, layers.blobs.clone(), Default::default());
        let _ = export::export_rootfs(&tree, &layers.indexes, &mut source, &mut std::io::sink());
    }
    Ok(())
}

#[test]
fn damaged_archives_never_panic_or_hang() {
    let cases: usize = std::env::var("STRATA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(6000);
    let seed: u64 = std::env::var("STRATA_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_5747a);
    let only: Option<usize> = std::env::var("STRATA_FUZZ_ONLY").ok().and_then(|v| v.parse().ok());
    let show = std::env::var_os("STRATA_FUZZ_SHOW").is_some();
    let mut fixtures: Vec<(String, Vec<u8>)> = all_fixtures().into_iter().map(|(n, fx, _)| (n.to_string(), fx.bytes)).collect();
    let mut chunked = strata::fixture::web_v1();
    for l in &mut chunked.layers {
        *l = l.clone().compressed_by(Compression::Zstd, strata::fixture::ZSTD_CHUNKED_SHAPE);
    }
    fixtures.push(("zstd-chunked".into(), strata::fixture::oci_archive(&[chunked], &Default::default(), false).bytes));
    let targets: Arc<Vec<Target>> = Arc::new(fixtures.into_iter().map(|(n, b)| target(&n, b)).collect());

    let mut failures = Vec::new();
    let mut outcomes = [0usize; 2]; // went through, refused
    for case in 0..cases {
        if only.is_some_and(|o| o != case) {
            continue;
        }
        let targets = targets.clone();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut rng = Rng(seed ^ (case as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let t = &targets[case % targets.len()];
            let bytes = damaged(t, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| match everything(&bytes, &mut rng) {
                Ok(()) => true,
                Err(e) => {
                    if show {
                        eprintln!("case {case} ({}): {e}", t.name);
                    }
                    false
                }
            }));
            let message = |p: Box<dyn std::any::Any + Send>| {
                p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
            };
            let _ = tx.send((t.name.clone(), outcome.map_err(message)));
        });
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok((_, Ok(through))) => outcomes[usize::from(!through)] += 1,
            Ok((name, Err(message))) => failures.push(format!("case {case} ({name}, seed {seed}): panicked: {message}")),
            Err(_) => {
                failures.push(format!("case {case} (seed {seed}): no answer in 20 s (a hang?)"));
                break;
            }
        }
    }
    eprintln!("{cases} damaged archives: {} went through, {} refused with an error", outcomes[0], outcomes[1]);
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    if only.is_none() {
        // The damage must leave most archives readable, or the deep paths go untested.
        assert!(outcomes[0] * 2 > cases, "only {} of {cases} damaged archives went through", outcomes[0]);
    }
}
