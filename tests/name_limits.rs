//! Memory follows the number of entries, never the bytes of their names (issue 20,
//! finding 5): a layer whose names pass [`MAX_NAME_BYTES_PER_LAYER`] stops indexing with an
//! error that says so, in every walk, and an image whose layers' names together pass
//! [`MAX_MERGED_NAME_BYTES`] is merged up to there, with an error.

mod common;

use std::io::Cursor;
use strata::fixture::{self, Entry, ImageSpec, LayerSpec, LongNames, Options, TarWriter};
use strata::layer::{index_stream, EntryKind, LayerBudget, LayerEntry, LayerIndex, MAX_NAME_BYTES_PER_LAYER};
use strata::merge::tree::MAX_MERGED_NAME_BYTES;
use strata::merge::MergedTree;
use strata::Archive;

const NAME: usize = 60_000;

/// A layer of `n` empty files with `NAME`-byte names (PAX path records, as Python writes them).
fn long_named_layer(n: usize) -> Vec<u8> {
    let mut w = TarWriter::with_long_names(LongNames::Pax);
    for i in 0..n {
        let mut name = format!("{i:08}").into_bytes();
        name.resize(NAME, b'a');
        w.entry(&Entry::file(name, ""));
    }
    w.finish()
}

#[test]
fn the_budget_counts_paths_and_link_targets() {
    let mut budget = LayerBudget::default();
    let entry = |path: usize, link: usize| LayerEntry {
        path: vec![b'p'; path].into_boxed_slice(),
        kind: EntryKind::Symlink,
        size: 0,
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: 0,
        link: Some(vec![b'l'; link].into_boxed_slice()),
        data_offset: 0,
        content_hash: None,
        dev_major: 0,
        dev_minor: 0,
        sparse: None,
    };
    let half = entry(1 << 20, 1 << 20); // 2 MiB of names
    let fits = (MAX_NAME_BYTES_PER_LAYER >> 21) as usize;
    for _ in 0..fits {
        budget.admit(&half).expect("under the cap");
    }
    let err = budget.admit(&entry(1, 0)).expect_err("one byte more passes the cap");
    assert_eq!(err.code, strata::codes::Code::LayerNamesLimit, "{err}");
}

#[test]
fn a_layer_of_long_names_stops_at_the_cap_in_every_walk() {
    let n = (MAX_NAME_BYTES_PER_LAYER as usize / NAME) + 50;
    let layer = long_named_layer(n);
    let (streamed, problem) = index_stream(&mut &layer[..]);
    let problem = problem.expect("the walk stops");
    let said = problem.message.english();
    assert!(said.contains("names"), "{said}");
    assert!(!problem.stream_failed, "the stream itself is fine: its digest still counts");
    let kept: u64 = streamed.entries.iter().map(strata::layer::name_bytes).sum();
    assert!(kept <= MAX_NAME_BYTES_PER_LAYER && streamed.entries.len() < n, "kept {} entries, {kept} name bytes", streamed.entries.len());
    // The seeking walk gives up (the caller then reports the streaming walk's error).
    assert!(Archive::quick_index_span(&mut Cursor::new(&layer), 0, layer.len() as u64).is_none());
}

#[test]
fn an_archive_of_long_names_reports_the_cap_instead_of_taking_gigabytes() {
    let n = (MAX_NAME_BYTES_PER_LAYER as usize / NAME) + 50;
    let mut spec = LayerSpec::new().pax_names();
    for i in 0..n {
        let mut name = format!("{i:08}").into_bytes();
        name.resize(NAME, b'a');
        spec = spec.raw_entry(Entry::file(name, ""));
    }
    let image = ImageSpec::new(&["names:1"]).layer(spec, "COPY . /");
    let fx = fixture::docker_archive(&[image], &Options::default());
    let (_, report) = common::open_verify(&fx.bytes).expect("opens");
    let image = &report.images[0];
    assert!(!image.verified, "a layer that could not be indexed in full is not verified");
    let said = report.findings.iter().any(|f| f.message.contains("names") && f.message.contains("MiB"));
    assert!(said, "a finding names the cap: {:?}", report.findings);
}

#[test]
fn an_image_whose_layers_pass_the_merged_cap_is_merged_up_to_there() {
    // One layer under the per-layer cap, listed often enough to pass the per-image cap.
    let per_layer = MAX_NAME_BYTES_PER_LAYER as usize - (1 << 20);
    let entries: Vec<LayerEntry> = (0..per_layer / NAME)
        .map(|i| {
            let mut path = format!("{i:08}").into_bytes();
            path.resize(NAME, b'b');
            LayerEntry {
                path: path.into_boxed_slice(),
                kind: EntryKind::File,
                size: 0,
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 0,
                link: None,
                data_offset: 0,
                content_hash: Some(0),
                dev_major: 0,
                dev_minor: 0,
                sparse: None,
            }
        })
        .collect();
    let layer = LayerIndex { entries, uncompressed_size: 0 };
    let copies = (MAX_MERGED_NAME_BYTES as usize / per_layer) + 1;
    let layers: Vec<&LayerIndex> = std::iter::repeat_n(&layer, copies).collect();
    let tree = MergedTree::build(&layers);
    let problems: Vec<String> = tree.problems().iter().map(|p| p.message.clone()).collect();
    assert!(
        problems.iter().any(|m| m.contains("names") && m.contains(&format!("layer {}", copies - 1))),
        "{problems:?}"
    );
}
