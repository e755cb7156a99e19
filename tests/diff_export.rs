//! Image diff and export, on the built-in sample archive (always) and on real images
//! built with umoci and re-encoded with skopeo (when the tools are installed).

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::Path;
use std::process::Command;
use strata::layer::{index_stream, EntryKind, LayerIndex};
use strata::merge::diff::{diff_images, FileChangeKind, TreeSide};
use strata::merge::export::export_rootfs;
use strata::merge::source::{image_layers, ArchiveSource};
use strata::merge::{MergedTree, ROOT};
use strata::report::Image;
use strata::{Archive, ReadSeek};

/// What a path looks like, independent of how the tar encoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    kind: EntryKind,
    size: u64,
    mode: u32,
    uid: u64,
    gid: u64,
    link: Option<Vec<u8>>,
    hash: Option<u64>,
}

fn records(tree: &MergedTree, layers: &[&LayerIndex]) -> BTreeMap<Vec<u8>, Rec> {
    let mut out = BTreeMap::new();
    for n in tree.walk(ROOT) {
        let e = tree.entry_ref(n).and_then(|r| tree.entry(layers, r));
        let c = tree.content_ref(n).and_then(|r| tree.entry(layers, r));
        let rec = match tree.kind(n) {
            // A hardlink is a file sharing an inode: compare what it shows.
            EntryKind::File | EntryKind::Hardlink => {
                let c = c.expect("content");
                Rec { kind: EntryKind::File, size: c.size, mode: c.mode & 0o7777, uid: c.uid, gid: c.gid, link: None, hash: c.content_hash }
            }
            k => {
                // Implicit directories (no tar entry) are exported as 0755 root:root.
                let (mode, uid, gid) = e.map(|e| (e.mode & 0o7777, e.uid, e.gid)).unwrap_or((0o755, 0, 0));
                let link = e.filter(|_| k == EntryKind::Symlink).and_then(|e| e.link.as_deref()).map(<[u8]>::to_vec);
                Rec { kind: k, size: 0, mode, uid, gid, link, hash: None }
            }
        };
        out.insert(tree.path(n), rec);
    }
    out
}

fn open(src: &mut dyn ReadSeek) -> Archive {
    let mut ar = Archive::open(src, &mut |_| {}).expect("open");
    ar.verify(src, &mut |_| {}).expect("verify");
    ar
}

fn find<'r>(ar: &'r Archive, tag: &str) -> &'r Image {
    ar.report().images.iter().find(|i| i.repo_tags.iter().any(|t| t.ends_with(tag))).unwrap_or_else(|| panic!("no image {tag}"))
}

/// Export an image's merged tree, re-read the tar, and check the trees are the same.
fn export_round_trip(ar: &Archive, src: &mut dyn ReadSeek, img: &Image) {
    let layers = image_layers(ar, img);
    let tree = MergedTree::build(&layers.indexes);
    let mut out = Vec::new();
    let mut source = ArchiveSource::new(ar, src, layers.blobs.clone());
    let stats = export_rootfs(&tree, &layers.indexes, &mut source, &mut out).expect("export");
    assert!(stats.skipped.is_empty(), "{:?}", stats.skipped);
    let (idx, problem) = index_stream(&mut out.as_slice());
    assert!(problem.is_none(), "{problem:?}");
    let again = MergedTree::build(&[&idx]);
    assert!(again.problems().is_empty(), "{:?}", again.problems());
    let want = records(&tree, &layers.indexes);
    let got = records(&again, &[&idx]);
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    for (p, w) in &want {
        assert_eq!(&got[p], w, "{}", String::from_utf8_lossy(p));
    }
}

#[test]
fn sample_export_round_trips() {
    let bytes = strata::fixture::sample_archive();
    let mut src = Cursor::new(bytes);
    let ar = open(&mut src);
    for img in ar.report().images.clone() {
        export_round_trip(&ar, &mut src, &img);
    }
}

#[test]
fn sample_diff_between_versions() {
    let mut src = Cursor::new(strata::fixture::sample_archive());
    let ar = open(&mut src);
    let (a, b) = (find(&ar, "1.0"), find(&ar, "2.0"));
    let (la, lb) = (image_layers(&ar, a), image_layers(&ar, b));
    let (ta, tb) = (MergedTree::build(&la.indexes), MergedTree::build(&lb.indexes));
    let d = diff_images(a, TreeSide { tree: &ta, layers: &la.indexes }, b, TreeSide { tree: &tb, layers: &lb.indexes });
    assert!(!d.same_image);
    assert!(d.shared_base_layers >= 1 && d.shared_layers.len() >= d.shared_base_layers);
    assert!(d.files.iter().all(|f| !f.content_unknown));
    // Same image against itself: nothing.
    let same = diff_images(a, TreeSide { tree: &ta, layers: &la.indexes }, a, TreeSide { tree: &ta, layers: &la.indexes });
    assert!(same.same_image && same.files.is_empty() && same.config.is_empty() && same.history.is_empty());
    // Reversed: added and removed swap.
    let rev = diff_images(b, TreeSide { tree: &tb, layers: &lb.indexes }, a, TreeSide { tree: &ta, layers: &la.indexes });
    assert_eq!((rev.summary.added, rev.summary.removed), (d.summary.removed, d.summary.added));
}

fn tools_ready() -> bool {
    let have = |t: &str| Command::new(t).arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    let missing: Vec<&str> = ["umoci", "skopeo"].into_iter().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("STRATA_REQUIRE_TOOLS").is_some() {
        panic!("STRATA_REQUIRE_TOOLS is set but {missing:?} not found");
    }
    eprintln!("skipping umoci diff/export test: {missing:?} not installed");
    false
}

fn run(dir: &Path, args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).current_dir(dir).output().expect("spawn");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn write(path: &Path, s: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, s).expect("write");
}

#[test]
fn umoci_images_sharing_a_base_diff_and_export() {
    if !tools_ready() {
        return;
    }
    let w = std::env::temp_dir().join(format!("strata-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&w);
    std::fs::create_dir_all(&w).expect("mkdir");
    run(&w, &["umoci", "init", "--layout", "L"]);
    run(&w, &["umoci", "new", "--image", "L:base"]);
    run(&w, &["umoci", "unpack", "--rootless", "--image", "L:base", "b1"]);
    let r = w.join("b1/rootfs");
    write(&r.join("etc/conf"), "v=1\n");
    write(&r.join("lib/shared.so"), "shared bytes");
    write(&r.join("old/file"), "goes away");
    std::os::unix::fs::symlink("/lib/shared.so", r.join("link")).expect("symlink");
    std::fs::hard_link(r.join("lib/shared.so"), r.join("lib/alias.so")).expect("hardlink");
    run(&w, &["umoci", "repack", "--image", "L:v1", "b1"]);
    run(&w, &["umoci", "config", "--image", "L:v1", "--config.env", "MODE=one", "--config.cmd", "/bin/one"]);
    run(&w, &["umoci", "unpack", "--rootless", "--image", "L:v1", "b2"]);
    let r = w.join("b2/rootfs");
    write(&r.join("etc/conf"), "v=2\n");
    std::fs::remove_dir_all(r.join("old")).expect("rm");
    write(&r.join("new/file"), "arrived");
    std::fs::remove_file(r.join("link")).expect("rm");
    std::os::unix::fs::symlink("/lib/alias.so", r.join("link")).expect("symlink");
    run(&w, &["umoci", "repack", "--image", "L:v2", "b2"]);
    run(&w, &["umoci", "config", "--image", "L:v2", "--config.env", "MODE=two", "--config.cmd", "/bin/two", "--config.user", "app"]);
    run(&w, &["skopeo", "copy", "-q", "oci:L:v1", &format!("docker-archive:{}/a.tar:strata/t:v1", w.display())]);
    run(&w, &["skopeo", "copy", "-q", "oci:L:v2", &format!("oci-archive:{}/b.tar:v2", w.display())]);

    let mut sa = std::io::BufReader::new(std::fs::File::open(w.join("a.tar")).expect("a"));
    let mut sb = std::io::BufReader::new(std::fs::File::open(w.join("b.tar")).expect("b"));
    let (aa, ab) = (open(&mut sa), open(&mut sb));
    let (ia, ib) = (&aa.report().images[0], &ab.report().images[0]);
    let (la, lb) = (image_layers(&aa, ia), image_layers(&ab, ib));
    let (ta, tb) = (MergedTree::build(&la.indexes), MergedTree::build(&lb.indexes));
    let d = diff_images(ia, TreeSide { tree: &ta, layers: &la.indexes }, ib, TreeSide { tree: &tb, layers: &lb.indexes });

    // The v1 layer is v2's base, whatever the archive format (diff_ids are uncompressed digests).
    assert_eq!(d.shared_base_layers, ia.layers.len(), "{:?}", d.shared_layers);
    let by_path: BTreeMap<&str, (FileChangeKind, &Vec<&str>)> = d.files.iter().map(|f| (f.path.as_str(), (f.change, &f.fields))).collect();
    assert_eq!(by_path["etc/conf"].0, FileChangeKind::Changed);
    assert!(by_path["etc/conf"].1.contains(&"content"), "{:?}", by_path["etc/conf"]);
    assert_eq!(by_path["old"].0, FileChangeKind::Removed);
    assert_eq!(by_path["old/file"].0, FileChangeKind::Removed);
    assert_eq!(by_path["new/file"].0, FileChangeKind::Added);
    assert_eq!(by_path["link"], (FileChangeKind::Changed, &vec!["link"]));
    assert!(!by_path.contains_key("lib/shared.so") && !by_path.contains_key("lib/alias.so"));
    let fields: Vec<&str> = d.config.iter().map(|c| c.field.as_str()).collect();
    assert!(fields.contains(&"Env.MODE") && fields.contains(&"Cmd") && fields.contains(&"User"), "{fields:?}");

    export_round_trip(&aa, &mut sa, ia);
    export_round_trip(&ab, &mut sb, ib);
    let _ = std::fs::remove_dir_all(&w);
}
