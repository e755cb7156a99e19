//! The lesson archives (issue 22) hold the layers, whiteouts and shared layers the lesson
//! view teaches with, and they verify; `path_story` and `layer_markers` tell their story.

mod common;

use std::io::Cursor;
use strata::fixture::lesson;
use strata::layer::{EntryKind, LayerIndex};
use strata::merge::view::{layer_markers, path_story, PathEvent};
use strata::merge::{ChangeKind, MergedTree};
use strata::report::Report;
use strata::Archive;

fn open(bytes: &[u8]) -> (Archive, Report) {
    let mut src = Cursor::new(bytes.to_vec());
    let mut ar = Archive::open(&mut src, &mut |_| {}).expect("opens");
    ar.verify(&mut src, &mut |_| {}).expect("verifies");
    let report = ar.report().clone();
    (ar, report)
}

fn layers<'a>(ar: &'a Archive, report: &Report, image: usize) -> Vec<&'a LayerIndex> {
    report.images[image].layers.iter().map(|l| ar.layer_index(l.blob.expect("blob present")).expect("indexed")).collect()
}

fn changes(tree: &MergedTree, k: usize) -> Vec<(String, ChangeKind)> {
    let mut out: Vec<(String, ChangeKind)> = tree.changes(k).iter().map(|c| (c.path.clone(), c.kind)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn web_archive_is_gzipped_with_two_images_sharing_the_httpd_base() {
    let bytes = lesson::web_archive();
    assert_eq!(&bytes[..2], b"\x1f\x8b", "gzip'd, as `docker save ... | gzip`");
    let (ar, report) = open(&bytes);
    assert!(report.all_verified(), "{}", common::summary(&report));
    let tags: Vec<&str> = report.images.iter().flat_map(|i| i.repo_tags.iter().map(String::as_str)).collect();
    assert_eq!(tags, ["web:v1", "web:v2"]);
    let (v1, v2) = (&report.images[0], &report.images[1]);
    assert_eq!(v1.layers.len(), 5);
    assert_eq!(v2.layers.len(), 5);
    for k in 0..4 {
        assert_eq!(v1.layers[k].diff_id, v2.layers[k].diff_id, "base layer {k} is shared");
    }
    assert_ne!(v1.layers[4].diff_id, v2.layers[4].diff_id, "the COPY layers differ");
    // History: metadata steps between the layers (ENV, WORKDIR, CMD ...).
    assert!(v1.history.iter().filter(|h| h.empty_layer).count() >= 5);
    assert!(v1.history.iter().any(|h| h.created_by.as_deref().is_some_and(|c| c.contains("COPY dir:public_html"))));
    for (image, text) in [(0, "hello docker web:v1\n"), (1, "hello docker web:v2\n")] {
        let ls = layers(&ar, &report, image);
        let tree = MergedTree::build(&ls);
        // The top layer overwrites the base image's "It works!" page.
        assert_eq!(changes(&tree, 4), [("usr/local/apache2/htdocs/index.html".to_string(), ChangeKind::Modified)]);
        let node = tree.find(b"usr/local/apache2/htdocs/index.html").expect("index.html");
        assert_eq!(tree.size(node), text.len() as u64);
        let story = path_story(&ls, b"/usr/local/apache2/htdocs/index.html");
        let steps: Vec<(u32, ChangeKind)> = story.iter().map(|e| (e.layer, e.change)).collect();
        assert_eq!(steps, [(2, ChangeKind::Added), (4, ChangeKind::Modified)]);
    }
}

#[test]
fn unionfs_demo_has_one_rule_per_layer() {
    let (ar, report) = open(&lesson::unionfs_archive());
    assert!(report.all_verified(), "{}", common::summary(&report));
    let image = &report.images[0];
    assert_eq!(image.repo_tags, ["unionfs-demo:latest"]);
    assert_eq!(image.layers.len(), 7);
    // Every layer's history line says what the layer does.
    let words = ["ADDS", "OVERWRITES", "DELETES", "OPAQUE", "ADDS AGAIN", "HARDLINK", "SYMLINK"];
    for (k, word) in words.iter().enumerate() {
        let h = image.layers[k].history.expect("layer has a history line");
        let line = image.history[h].created_by.as_deref().unwrap_or("");
        assert!(line.contains(&format!("layer {k} ")) && line.contains(word), "layer {k}: {line}");
    }
    assert!(image.history.iter().filter(|h| h.empty_layer).count() >= 3, "metadata-only steps between the layers");

    let ls = layers(&ar, &report, 0);
    let tree = MergedTree::build(&ls);
    let added = ChangeKind::Added;
    let modified = ChangeKind::Modified;
    let deleted = ChangeKind::Deleted;
    let s = |p: &str| p.to_string();
    assert_eq!(changes(&tree, 1), [(s("demo/a.txt"), modified)]);
    assert_eq!(changes(&tree, 2), [(s("demo/b.txt"), deleted), (s("demo/big.log"), deleted)]);
    let opaque = changes(&tree, 3);
    assert!(opaque.contains(&(s("demo/config/old.conf"), deleted)), "{opaque:?}");
    assert_eq!(changes(&tree, 4), [(s("demo/b.txt"), added)]);
    assert_eq!(changes(&tree, 5), [(s("demo/bin"), added), (s("demo/bin/tool"), added), (s("demo/bin/tool-alias"), added)]);
    assert_eq!(changes(&tree, 6), [(s("demo/latest"), added)]);
    let kind = |p: &str| tree.kind(tree.find(p.as_bytes()).expect(p));
    assert_eq!(kind("demo/bin/tool-alias"), EntryKind::Hardlink);
    assert_eq!(kind("demo/latest"), EntryKind::Symlink);
    assert!(tree.find(b"demo/config/old.conf").is_none());

    // The markers of each layer, by their real names, at their own layer only.
    let markers_of = |k: usize| {
        let upto = MergedTree::build(&ls[..=k]);
        layer_markers(&upto, &ls[..=k], k, 100).into_iter().map(|m| (m.path, m.opaque, m.target, m.removed_paths)).collect::<Vec<_>>()
    };
    for k in [0, 1, 4, 5, 6] {
        assert!(markers_of(k).is_empty(), "layer {k} has no markers");
    }
    assert_eq!(markers_of(2), [(s("demo/.wh.b.txt"), false, s("demo/b.txt"), 1), (s("demo/.wh.big.log"), false, s("demo/big.log"), 1)]);
    // app.conf is written again by the same layer: modified, not deleted; old.conf is gone.
    assert_eq!(markers_of(3), [(s("demo/config/.wh..wh..opq"), true, s("demo/config"), 1)]);

    // b.txt: added, deleted by its whiteout, added again.
    let story = path_story(&ls, b"demo/b.txt");
    let want = |layer, change, by: Option<&str>| PathEvent { layer, change, kind: EntryKind::File, size: 0, by: by.map(str::to_string), implicit: false };
    let shape: Vec<PathEvent> = story.iter().map(|e| PathEvent { size: 0, ..e.clone() }).collect();
    assert_eq!(shape, [want(0, added, None), want(2, deleted, Some("demo/.wh.b.txt")), want(4, added, None)]);
    // config/old.conf: deleted by the opaque marker of its directory.
    let story = path_story(&ls, b"demo/config/old.conf");
    assert_eq!(story.last().and_then(|e| e.by.as_deref()), Some("demo/config/.wh..wh..opq"));
    // The directory itself only changes where its own entry or a marker says so.
    let story = path_story(&ls, b"demo");
    assert_eq!(story.iter().map(|e| (e.layer, e.change)).collect::<Vec<_>>(), [(0, added)]);
}
