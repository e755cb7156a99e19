//! One test per union-filesystem rule (FORMATS.md, "Merging layers"), on real layer tars
//! built here and indexed with `strata::layer::index_stream`.

use std::io::Read;
use strata::layer::{index_stream, EntryKind, LayerEntry, LayerIndex};
use strata::merge::read::{open_file, resolve, ContentSource};
use strata::merge::view::{list_dir, ListOptions};
use strata::merge::{waste, ChangeKind, EntryRef, EntryStatus, MergedTree, ROOT};

/// One layer under construction.
struct L(tar::Builder<Vec<u8>>);

impl L {
    fn new() -> L {
        L(tar::Builder::new(Vec::new()))
    }
    fn head(path: &str, t: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_path(path).expect("path");
        h.set_entry_type(t);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1);
        h
    }
    fn file(mut self, path: &str, content: &str) -> L {
        let mut h = L::head(path, tar::EntryType::Regular, 0o644, content.len() as u64);
        h.set_cksum();
        self.0.append(&h, content.as_bytes()).expect("append");
        self
    }
    fn dir(self, path: &str) -> L {
        self.dir_mode(path, 0o755)
    }
    fn dir_mode(mut self, path: &str, mode: u32) -> L {
        let mut h = L::head(path, tar::EntryType::Directory, mode, 0);
        h.set_cksum();
        self.0.append(&h, std::io::empty()).expect("append");
        self
    }
    fn link(mut self, path: &str, t: tar::EntryType, target: &str) -> L {
        let mut h = L::head(path, t, 0o777, 0);
        h.set_link_name(target).expect("link");
        h.set_cksum();
        self.0.append(&h, std::io::empty()).expect("append");
        self
    }
    fn symlink(self, path: &str, target: &str) -> L {
        self.link(path, tar::EntryType::Symlink, target)
    }
    fn hardlink(self, path: &str, target: &str) -> L {
        self.link(path, tar::EntryType::Link, target)
    }
    fn done(self) -> Vec<u8> {
        self.0.into_inner().expect("finish")
    }
}

/// Layers as tars and their indexes.
struct Image {
    tars: Vec<Vec<u8>>,
    idx: Vec<LayerIndex>,
}

impl Image {
    fn new(layers: Vec<L>) -> Image {
        let tars: Vec<Vec<u8>> = layers.into_iter().map(L::done).collect();
        let idx = tars
            .iter()
            .map(|t| {
                let (i, problem) = index_stream(&mut t.as_slice());
                assert!(problem.is_none(), "{problem:?}");
                i
            })
            .collect();
        Image { tars, idx }
    }
    fn refs(&self) -> Vec<&LayerIndex> {
        self.idx.iter().collect()
    }
    fn tree(&self) -> MergedTree {
        MergedTree::build(&self.refs())
    }
    fn read(&self, tree: &MergedTree, path: &str) -> String {
        let refs = self.refs();
        let mut src = Mem(&self.tars);
        let (_, mut r) = open_file(tree, &refs, &mut src, path.as_bytes()).expect("open");
        let mut s = String::new();
        r.read_to_string(&mut s).expect("read");
        s
    }
    /// Status of the last entry of `layer` whose path is `path`.
    fn status(&self, tree: &MergedTree, layer: usize, path: &str) -> EntryStatus {
        let i = self.idx[layer].entries.iter().rposition(|e| &*e.path == path.as_bytes()).expect("entry");
        tree.status(EntryRef { layer: layer as u32, index: i as u32 }).expect("status")
    }
}

struct Mem<'a>(&'a [Vec<u8>]);

impl ContentSource for Mem<'_> {
    fn open_entry(&mut self, layer: usize, entry: &LayerEntry) -> Result<Box<dyn Read + '_>, strata::Error> {
        let t = &self.0[layer];
        let a = entry.data_offset as usize;
        Ok(Box::new(&t[a..a + entry.size as usize]))
    }
}

/// `path kind size` of every live path, sorted.
fn listing(t: &MergedTree) -> Vec<String> {
    t.walk(ROOT)
        .into_iter()
        .map(|n| format!("{} {} {}", String::from_utf8_lossy(&t.path(n)), t.kind(n).letter(), t.size(n)))
        .collect()
}

fn paths(t: &MergedTree) -> Vec<String> {
    t.walk(ROOT).into_iter().map(|n| String::from_utf8_lossy(&t.path(n)).into_owned()).collect()
}

#[test]
fn whiteout_deletes_path_and_subtree_below() {
    let img = Image::new(vec![
        L::new().dir("a").file("a/x", "1").dir("a/d").file("a/d/y", "22").file("b", "333"),
        L::new().file(".wh.a", "").file("c", "4"),
    ]);
    let t = img.tree();
    assert_eq!(paths(&t), ["b", "c"]);
    assert_eq!(img.status(&t, 0, "a/d/y"), EntryStatus::Deleted { by_layer: 1 });
    assert_eq!(img.status(&t, 0, "a"), EntryStatus::Deleted { by_layer: 1 });
    assert_eq!(img.status(&t, 1, ".wh.a"), EntryStatus::Whiteout);
    assert_eq!(img.status(&t, 0, "b"), EntryStatus::Visible);
    let c = t.change_counts(1);
    assert_eq!((c.added, c.deleted, c.deleted_bytes), (1, 4, 3));
    assert!(t.problems().is_empty());
}

#[test]
fn whiteout_of_dir_whose_children_came_from_the_layer_below() {
    // Children added below with no explicit directory entry (implicit parent), then the
    // directory whited out.
    let img = Image::new(vec![L::new().file("etc/x", "1"), L::new().file("etc/y", "2").file("etc/sub/z", "3"), L::new().file(".wh.etc", "")]);
    let t = img.tree();
    assert!(paths(&t).is_empty(), "{:?}", paths(&t));
    assert_eq!(img.status(&t, 1, "etc/sub/z"), EntryStatus::Deleted { by_layer: 2 });
}

#[test]
fn whiteout_applies_only_below_even_with_readd_in_same_layer() {
    // `.wh.d` and `d/new` in one layer: the lower `d` goes, the new child stays.
    let img = Image::new(vec![L::new().dir("d").file("d/old", "1"), L::new().file("d/new", "2").file(".wh.d", "")]);
    let t = img.tree();
    assert_eq!(paths(&t), ["d", "d/new"]);
    assert_eq!(img.status(&t, 0, "d/old"), EntryStatus::Deleted { by_layer: 1 });
}

#[test]
fn opaque_marker_after_sibling_entries() {
    // The marker is the last entry of the layer; it must still not hide what the same
    // layer put in the directory.
    let img = Image::new(vec![
        L::new().dir("d").file("d/lower", "1").dir("d/sub").file("d/sub/deep", "22").file("keep", "k"),
        L::new().dir("d").file("d/mine", "333").file("d/lower", "4444").file("d/.wh..wh..opq", ""),
    ]);
    let t = img.tree();
    assert_eq!(paths(&t), ["d", "d/lower", "d/mine", "keep"]);
    assert_eq!(img.read(&t, "d/lower"), "4444");
    assert_eq!(img.status(&t, 0, "d/sub/deep"), EntryStatus::Deleted { by_layer: 1 });
    assert_eq!(img.status(&t, 0, "d/lower"), EntryStatus::Deleted { by_layer: 1 });
    assert_eq!(img.status(&t, 1, "d/.wh..wh..opq"), EntryStatus::Opaque);
    // d/lower existed below: a modification, not an addition; d/sub: a deletion.
    let ch: Vec<(String, ChangeKind)> = t.changes(1).iter().map(|c| (c.path.clone(), c.kind)).collect();
    assert!(ch.contains(&("d/lower".into(), ChangeKind::Modified)), "{ch:?}");
    assert!(ch.contains(&("d/mine".into(), ChangeKind::Added)), "{ch:?}");
    assert!(ch.contains(&("d/sub".into(), ChangeKind::Deleted)), "{ch:?}");
}

#[test]
fn opaque_marker_first_in_tar() {
    let img = Image::new(vec![L::new().dir("d").file("d/a", "1"), L::new().file("d/.wh..wh..opq", "").file("d/b", "2")]);
    assert_eq!(paths(&img.tree()), ["d", "d/b"]);
}

#[test]
fn directory_over_directory_merges_and_takes_new_attributes() {
    let img = Image::new(vec![L::new().dir_mode("d", 0o700).file("d/a", "1"), L::new().dir_mode("d", 0o755).file("d/b", "2")]);
    let t = img.tree();
    assert_eq!(paths(&t), ["d", "d/a", "d/b"]);
    let refs = img.refs();
    let d = t.find(b"d").expect("d");
    let e = t.entry(&refs, t.entry_ref(d).expect("entry")).expect("e");
    assert_eq!(e.mode & 0o777, 0o755);
    assert_eq!(t.layer_of(d), 1);
    assert_eq!(img.status(&t, 0, "d"), EntryStatus::Overwritten { by_layer: 1 });
    assert_eq!(img.status(&t, 0, "d/a"), EntryStatus::Visible);
    // Mode changed: a modification.
    assert!(t.changes(1).iter().any(|c| c.path == "d" && c.kind == ChangeKind::Modified));
}

#[test]
fn redeclared_parent_directory_is_not_a_change() {
    let img = Image::new(vec![L::new().dir("usr").file("usr/a", "1"), L::new().dir("usr").file("usr/b", "2")]);
    let t = img.tree();
    let ch: Vec<&str> = t.changes(1).iter().map(|c| c.path.as_str()).collect();
    assert_eq!(ch, ["usr/b"]);
}

#[test]
fn file_over_directory_removes_subtree() {
    let img = Image::new(vec![L::new().dir("x").file("x/a", "1").dir("x/y").file("x/y/b", "2"), L::new().file("x", "file")]);
    let t = img.tree();
    assert_eq!(listing(&t), ["x - 4"]);
    assert_eq!(img.status(&t, 0, "x"), EntryStatus::Overwritten { by_layer: 1 });
    assert_eq!(img.status(&t, 0, "x/y/b"), EntryStatus::Deleted { by_layer: 1 });
}

#[test]
fn directory_over_file_replaces_it() {
    let img = Image::new(vec![L::new().file("x", "file"), L::new().dir("x").file("x/a", "1")]);
    let t = img.tree();
    assert_eq!(listing(&t), ["x d 0", "x/a - 1"]);
    assert_eq!(img.status(&t, 0, "x"), EntryStatus::Overwritten { by_layer: 1 });
}

#[test]
fn file_dir_file_across_three_layers() {
    let img = Image::new(vec![
        L::new().file("p", "one"),
        L::new().dir("p").file("p/child", "c"),
        L::new().file("p", "three!"),
    ]);
    let t = img.tree();
    assert_eq!(listing(&t), ["p - 6"]);
    assert_eq!(img.read(&t, "p"), "three!");
    assert_eq!(img.status(&t, 0, "p"), EntryStatus::Overwritten { by_layer: 1 });
    assert_eq!(img.status(&t, 1, "p"), EntryStatus::Overwritten { by_layer: 2 });
    assert_eq!(img.status(&t, 1, "p/child"), EntryStatus::Deleted { by_layer: 2 });
    let w = waste::analyze(&t, &img.refs());
    assert_eq!((w.total_file_bytes, w.wasted_bytes), (10, 4));
}

#[test]
fn delete_then_readd_is_present() {
    let img = Image::new(vec![L::new().file("f", "v1"), L::new().file(".wh.f", ""), L::new().file("f", "v3!")]);
    let t = img.tree();
    assert_eq!(listing(&t), ["f - 3"]);
    assert_eq!(img.read(&t, "f"), "v3!");
    assert_eq!(t.changes(2)[0].kind, ChangeKind::Added);
    assert_eq!(t.changes(1)[0].kind, ChangeKind::Deleted);
}

#[test]
fn hardlink_keeps_target_content_of_its_layer() {
    let img = Image::new(vec![
        L::new().file("bin/a", "old"),
        L::new().hardlink("bin/b", "bin/a"),
        L::new().file("bin/a", "new content"),
    ]);
    let t = img.tree();
    assert_eq!(img.read(&t, "bin/a"), "new content");
    assert_eq!(img.read(&t, "bin/b"), "old");
    assert_eq!(t.size(t.find(b"bin/b").expect("b")), 3);
    // The old bytes of bin/a are still visible through bin/b: not wasted.
    assert_eq!(img.status(&t, 0, "bin/a"), EntryStatus::Overwritten { by_layer: 2 });
    assert_eq!(waste::analyze(&t, &img.refs()).wasted_bytes, 0);
}

#[test]
fn hardlink_in_same_layer_and_to_later_entry() {
    let img = Image::new(vec![L::new().hardlink("early", "late").file("late", "x").file("t", "tt").hardlink("l", "t")]);
    let t = img.tree();
    assert_eq!(img.read(&t, "l"), "tt");
    assert_eq!(img.read(&t, "early"), "x");
}

#[test]
fn broken_hardlink_is_a_problem() {
    let img = Image::new(vec![L::new().hardlink("l", "nowhere")]);
    let t = img.tree();
    assert_eq!(t.problems().len(), 1);
    assert!(t.problems()[0].message.contains("nowhere"));
}

#[test]
fn aufs_metadata_is_hidden_not_a_whiteout() {
    let img = Image::new(vec![
        L::new().file("plnk", "real file named plnk").file("aufs", "a"),
        L::new()
            .dir(".wh..wh.plnk")
            .file(".wh..wh.plnk/1234.5678", "linked bytes")
            .file(".wh..wh.aufs", "")
            .dir(".wh..wh.orph")
            .hardlink("usr/lib/x", ".wh..wh.plnk/1234.5678"),
    ]);
    let t = img.tree();
    assert_eq!(paths(&t), ["aufs", "plnk", "usr", "usr/lib", "usr/lib/x"]);
    assert_eq!(img.read(&t, "usr/lib/x"), "linked bytes");
    assert_eq!(img.status(&t, 1, ".wh..wh.aufs"), EntryStatus::Hidden);
    assert!(t.problems().is_empty());
}

#[test]
fn whiteout_of_never_existing_path_is_harmless() {
    let img = Image::new(vec![L::new().file("a", "1"), L::new().file(".wh.ghost", "").file("dir/.wh.ghost2", "")]);
    let t = img.tree();
    assert_eq!(paths(&t), ["a"]);
    assert!(t.problems().is_empty());
    assert_eq!(t.change_counts(1).deleted, 0);
}

#[test]
fn whiteout_below_a_path_that_became_a_file() {
    // What umoci writes when directory r became a file: `r`, then `r/.wh.sub`.
    let img = Image::new(vec![L::new().dir("r").dir("r/sub").file("r/sub/f", "1"), L::new().file("r", "file").file("r/.wh.sub", "")]);
    let t = img.tree();
    assert_eq!(listing(&t), ["r - 4"]);
    assert!(t.problems().is_empty());
}

#[test]
fn bare_whiteout_is_reported_not_applied() {
    let img = Image::new(vec![L::new().file("a", "1"), L::new().file(".wh.", "").file("d/.wh.", "")]);
    let t = img.tree();
    assert_eq!(paths(&t), ["a"]); // an entry that is not applied creates nothing
    assert_eq!(t.problems().len(), 2);
    assert!(t.problems()[0].message.contains("bare"));
    assert_eq!(img.status(&t, 1, ".wh."), EntryStatus::Invalid);
}

#[test]
fn duplicate_entries_in_one_layer_last_wins() {
    let img = Image::new(vec![L::new().file("f", "first").file("f", "second!").dir("d").file("d", "now a file")]);
    let t = img.tree();
    assert_eq!(listing(&t), ["d - 10", "f - 7"]);
    assert_eq!(img.read(&t, "f"), "second!");
    assert_eq!(t.status(EntryRef { layer: 0, index: 0 }), Some(EntryStatus::Overwritten { by_layer: 0 }));
    // The first copy of f is stored but never seen.
    assert_eq!(waste::analyze(&t, &img.refs()).wasted_bytes, 5);
}

#[test]
fn implicit_parent_directories() {
    let img = Image::new(vec![L::new().file("a/b/c/file", "x")]);
    let t = img.tree();
    assert_eq!(paths(&t), ["a", "a/b", "a/b/c", "a/b/c/file"]);
    let rows = list_dir(&t, &img.refs(), b"a", &ListOptions::default()).expect("list");
    assert!(rows[0].implicit);
    assert_eq!(rows[0].cumulative_size, Some(1));
}

#[test]
fn implicit_parent_replaces_a_lower_file() {
    let img = Image::new(vec![L::new().file("a", "was a file"), L::new().file("a/b", "x")]);
    let t = img.tree();
    assert_eq!(listing(&t), ["a d 0", "a/b - 1"]);
    assert_eq!(img.status(&t, 0, "a"), EntryStatus::Overwritten { by_layer: 1 });
}

#[test]
fn dotdot_paths_are_reported() {
    let img = Image::new(vec![L::new().file("ok", "1")]);
    // tar::Builder refuses `..`, so craft the index directly.
    let mut evil = img.idx[0].clone();
    evil.entries[0].path = b"a/../../etc/passwd".to_vec().into_boxed_slice();
    let t = MergedTree::build(&[&evil]);
    assert!(paths(&t).is_empty());
    assert_eq!(t.problems().len(), 1);
}

#[test]
fn root_entry_sets_root_attributes() {
    let img = Image::new(vec![L::new().dir("./").file("./a", "1")]);
    let t = img.tree();
    assert_eq!(paths(&t), ["a"]);
    assert!(t.entry_ref(ROOT).is_some());
}

#[test]
fn symlinks_followed_when_reading_not_when_listing() {
    let img = Image::new(vec![L::new()
        .file("usr/lib/real", "data")
        .symlink("lib", "usr/lib")
        .symlink("abs", "/lib/real")
        .symlink("rel", "../usr/./lib/real")
        .symlink("loop1", "loop2")
        .symlink("loop2", "loop1")]);
    let t = img.tree();
    let refs = img.refs();
    assert_eq!(img.read(&t, "lib/real"), "data");
    assert_eq!(img.read(&t, "/abs"), "data");
    assert_eq!(img.read(&t, "rel"), "data");
    let err = resolve(&t, &refs, b"loop1", true).expect_err("loop");
    assert!(err.to_string().contains("symlinks"), "{err}");
    let rows = list_dir(&t, &refs, b"", &ListOptions::default()).expect("list");
    let lib = rows.iter().find(|r| r.name == "lib").expect("lib");
    assert_eq!((lib.kind, lib.link.as_deref()), (EntryKind::Symlink, Some("usr/lib")));
}

#[test]
fn layer_view_shows_changes_and_tombstones_and_shadows() {
    let img = Image::new(vec![
        L::new().dir("d").file("d/keep", "1").file("d/gone", "22").file("d/mod", "333"),
        L::new().file("d/.wh.gone", "").file("d/mod", "4444").file("d/new", "5"),
        L::new().file("d/new", "66"),
    ]);
    let refs = img.refs();
    let full = img.tree();
    let upto1 = MergedTree::build(&refs[..2]);
    let opts = ListOptions { changes_of_layer: Some(1), full_tree: Some(&full), ..Default::default() };
    let rows = list_dir(&upto1, &refs, b"d", &opts).expect("list");
    let got: Vec<(String, Option<ChangeKind>, Option<EntryStatus>)> = rows.iter().map(|r| (r.name.clone(), r.change, r.shadow)).collect();
    assert_eq!(
        got,
        vec![
            ("gone".into(), Some(ChangeKind::Deleted), Some(EntryStatus::Deleted { by_layer: 1 })),
            ("keep".into(), None, Some(EntryStatus::Visible)),
            ("mod".into(), Some(ChangeKind::Modified), Some(EntryStatus::Visible)),
            ("new".into(), Some(ChangeKind::Added), Some(EntryStatus::Overwritten { by_layer: 2 })),
        ]
    );
}

#[test]
fn waste_counts_each_hidden_copy_once() {
    // 100 bytes added, rewritten (100 more), then deleted: 200 stored, all hidden.
    let hundred = "x".repeat(100);
    let img = Image::new(vec![
        L::new().file("big", &hundred).file("small", "12345"),
        L::new().file("big", &hundred),
        L::new().file(".wh.big", ""),
    ]);
    let t = img.tree();
    let w = waste::analyze(&t, &img.refs());
    assert_eq!(w.total_file_bytes, 205);
    assert_eq!(w.wasted_bytes, 200);
    assert_eq!(w.paths.len(), 1);
    assert_eq!(w.paths[0].copies.len(), 2);
    assert!(!w.paths[0].present);
    assert!((w.efficiency - (1.0 - 200.0 / 205.0)).abs() < 1e-12);
    assert_eq!(w.per_layer, vec![100, 100, 0]);
}

#[test]
fn cumulative_sizes_count_hardlinked_content_once() {
    let img = Image::new(vec![L::new().file("d/a", "12345").hardlink("d/b", "d/a").file("e/c", "123")]);
    let t = img.tree();
    assert_eq!(t.cumulative_size(ROOT), 8);
    assert_eq!(t.cumulative_size(t.find(b"d").expect("d")), 5);
}

#[test]
fn non_utf8_names_survive() {
    let mut evil = Image::new(vec![L::new().file("x", "1")]).idx.remove(0);
    evil.entries[0].path = b"caf\xe9".to_vec().into_boxed_slice();
    let t = MergedTree::build(&[&evil]);
    let rows = list_dir(&t, &[&evil], b"", &ListOptions::default()).expect("list");
    assert_eq!(rows[0].name, "caf\\xe9");
    assert!(t.find(b"caf\xe9").is_some());
}

#[test]
#[ignore = "timing check: cargo test --release --test merge_rules -- --ignored"]
fn large_tree_builds() {
    // 5 layers × 200 000 entries in 2 000 directories; each upper layer rewrites a tenth.
    let mut layers = Vec::new();
    for l in 0..5u64 {
        let mut idx = LayerIndex::default();
        for i in 0..200_000u64 {
            if l > 0 && i % 10 != 0 {
                continue;
            }
            let path = format!("usr/share/d{}/f{}", i % 2000, i);
            idx.entries.push(LayerEntry {
                path: path.into_bytes().into_boxed_slice(),
                kind: EntryKind::File,
                size: 100 + l,
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 0,
                link: None,
                data_offset: 0,
                content_hash: Some(l),
                dev_major: 0,
                dev_minor: 0,
                sparse: None,
            });
        }
        layers.push(idx);
    }
    let refs: Vec<&LayerIndex> = layers.iter().collect();
    let t0 = std::time::Instant::now();
    let t = MergedTree::build(&refs);
    let built = t0.elapsed();
    let w = waste::analyze(&t, &refs);
    eprintln!("build {built:?}, waste {:?}, nodes {}, wasted {}", t0.elapsed() - built, t.node_count(), w.wasted_bytes);
    assert_eq!(t.walk(ROOT).len(), 200_000 + 2000 + 2);
}

#[test]
fn hardlink_to_a_symlink_is_that_symlink() {
    // On Linux `link()` links the symlink itself (Go's os.Link, so Docker, does the same).
    let img = Image::new(vec![L::new().file("t", "T").symlink("s", "t").hardlink("h", "s")]);
    let t = img.tree();
    assert_eq!(img.read(&t, "h"), "T");
    let rows = list_dir(&t, &img.refs(), b"", &ListOptions::default()).expect("list");
    let h = rows.iter().find(|r| r.name == "h").expect("h");
    assert_eq!((h.kind, h.link.as_deref()), (EntryKind::Symlink, Some("t")));
}

#[test]
fn a_lower_symlink_in_the_way_of_a_parent_is_replaced_and_reported() {
    // usrmerge: `bin -> usr/bin` below, `bin/tool` (no `bin/` entry) above. Runtimes
    // disagree (overlay2/podman: a new directory; containerd/umoci: through the link):
    // strata shows the first and says so.
    let img = Image::new(vec![L::new().file("usr/bin/sh", "sh").symlink("bin", "usr/bin"), L::new().file("bin/tool", "x")]);
    let t = img.tree();
    assert_eq!(listing(&t), ["bin d 0", "bin/tool - 1", "usr d 0", "usr/bin d 0", "usr/bin/sh - 2"]);
    let problems = t.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].layer, 1);
    assert!(problems[0].message.contains("the symlink /bin -> usr/bin"), "{}", problems[0].message);
    assert!(problems[0].message.contains("containerd"), "{}", problems[0].message);
}

#[test]
fn a_repeated_opaque_marker_deletes_once() {
    let img = Image::new(vec![
        L::new().dir("d").file("d/a", "1").file("d/b", "22"),
        L::new().file("d/.wh..wh..opq", "").file("d/.wh..wh..opq", "").file("d/c", "3").file("d/.wh..wh..opq", ""),
    ]);
    let t = img.tree();
    assert_eq!(paths(&t), ["d", "d/c"]);
    let deleted: Vec<&str> = t.changes(1).iter().filter(|c| c.kind == ChangeKind::Deleted).map(|c| c.path.as_str()).collect();
    assert_eq!(deleted, ["d/a", "d/b"]);
}

#[test]
fn a_layer_listed_over_and_over_is_merged_up_to_a_bound() {
    // One small layer referenced thousands of times must not cost memory per reference
    // without end: past MAX_MERGED_ENTRIES the upper references are left out, with an error.
    let mut l = L::new();
    for i in 0..1000 {
        l = l.file(&format!("f{i:04}"), "x");
    }
    let img = Image::new(vec![l]);
    let per_layer = img.idx[0].entries.len();
    let copies = strata::merge::tree::MAX_MERGED_ENTRIES / per_layer + 5;
    let refs: Vec<&LayerIndex> = std::iter::repeat_n(&img.idx[0], copies).collect();
    let t = MergedTree::build(&refs);
    assert_eq!(t.walk(ROOT).len(), 1000);
    let problems = t.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let first_left_out = strata::merge::tree::MAX_MERGED_ENTRIES / per_layer;
    assert_eq!(problems[0].layer as usize, first_left_out);
    assert!(problems[0].message.contains("were not merged"), "{}", problems[0].message);
    // The merged layers are there; the rest have no changes.
    assert_eq!(t.changes(first_left_out - 1).len(), 1000);
    assert!(t.changes(first_left_out).is_empty());
}

#[test]
fn recursive_rows_carry_full_paths_in_a_deep_tree() {
    let deep = "a/".repeat(300) + "f";
    let mut w = strata::fixture::TarWriter::new(); // GNU long names
    w.file("top", "1");
    w.file(&deep, "2");
    let (index, problem) = index_stream(&mut w.finish().as_slice());
    assert!(problem.is_none(), "{problem:?}");
    let img = Image { tars: Vec::new(), idx: vec![index] };
    let t = img.tree();
    let rows = strata::merge::view::list_recursive(&t, &img.refs(), b"", &ListOptions::default()).expect("rows");
    let got: Vec<String> = rows.iter().map(|r| r.path.clone()).collect();
    let mut want: Vec<String> = (1..=300).map(|d| "a/".repeat(d).trim_end_matches('/').to_string()).collect();
    want.push(deep.clone());
    want.push("top".into());
    assert_eq!(got, want);
    // Below a directory, and with a filter: the same paths.
    let below = strata::merge::view::list_recursive(&t, &img.refs(), b"a/a", &ListOptions::default()).expect("rows");
    assert_eq!(below.first().map(|r| r.path.as_str()), Some("a/a/a"));
    let opts = ListOptions { filter: Some(strata::merge::filter::PathFilter::parse("**/f")), ..Default::default() };
    let found = strata::merge::view::list_recursive(&t, &img.refs(), b"", &opts).expect("rows");
    assert_eq!(found.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), [deep.as_str()]);
}
