//! One directory at a time, ready to show: what `strata ls` prints and what the page
//! renders when a folder is opened.

use super::filter::PathFilter;
use super::tree::{ChangeKind, EntryStatus, MergedTree, NodeId};
use crate::layer::{display_path, EntryKind, LayerIndex};
use crate::Error;
use serde::Serialize;

/// One row of a directory listing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DirEntryView {
    /// Base name, shown losslessly ([`display_path`]).
    pub name: String,
    /// Full path from the root, no leading `/`.
    pub path: String,
    pub kind: EntryKind,
    /// Content bytes (files; hardlinks show their target's size).
    pub size: u64,
    /// Directories: bytes of every file below.
    pub cumulative_size: Option<u64>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// Symlink target as written, or the path a hardlink points at.
    pub link: Option<String>,
    /// Devices: (major, minor).
    pub device: Option<(u32, u32)>,
    /// The layer that last wrote this path.
    pub layer: u32,
    /// True for a directory no tar entry declared (made for its children).
    pub implicit: bool,
    /// Layer view: how the viewed layer changed this path. `deleted` rows are tombstones.
    pub change: Option<ChangeKind>,
    /// What a later layer does to this entry (from the full image's merge), so a layer
    /// view can strike through what the container never sees.
    pub shadow: Option<EntryStatus>,
    /// Directories: live children.
    pub children: Option<usize>,
    /// xxh3-64 of the content as 16 hex digits, once the layer was verified.
    pub content_hash: Option<String>,
}

/// How to list.
#[derive(Debug, Clone, Default)]
pub struct ListOptions<'a> {
    /// Show change markers (and deletion tombstones) of this layer. Use it with a tree
    /// built from `layers[..=layer]` to get dive's "layer view".
    pub changes_of_layer: Option<u32>,
    /// The merge of the whole image, to fill in `shadow` for each row.
    pub full_tree: Option<&'a MergedTree>,
    /// Keep only rows whose full path matches.
    pub filter: Option<PathFilter>,
    /// Only rows that the viewed layer changed (needs `changes_of_layer`).
    pub only_changes: bool,
    pub sort: SortOrder,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    #[default]
    Name,
    /// Largest first (cumulative size for directories).
    Size,
}

/// The rows of one directory of `tree`. `path` is a normalised path (`""` for `/`);
/// symlinks are not followed. Errors when the path does not exist or is not a directory.
pub fn list_dir(tree: &MergedTree, layers: &[&LayerIndex], path: &[u8], opts: &ListOptions<'_>) -> Result<Vec<DirEntryView>, Error> {
    let norm = crate::layer::normalize_path(path);
    let dir = tree.find(&norm).ok_or_else(|| Error::NotFound { what: format!("path /{}", display_path(&norm)) })?;
    if tree.kind(dir) != EntryKind::Dir {
        return Err(Error::NotFound { what: format!("directory /{} (it is a {:?})", display_path(&norm), tree.kind(dir)) });
    }
    let mut rows = Vec::new();
    for c in tree.children(dir) {
        rows.push(row(tree, layers, c, opts));
    }
    if let Some(l) = opts.changes_of_layer {
        for c in tree.deleted_children(dir, l) {
            rows.push(row(tree, layers, c, opts));
        }
    }
    if let Some(f) = &opts.filter {
        rows.retain(|r| f.matches(&crate::layer::parse_display_path(&r.path)));
    }
    if opts.only_changes {
        rows.retain(|r| r.change.is_some());
    }
    sort_rows(&mut rows, opts.sort);
    Ok(rows)
}

/// Every row below `path` (recursive, depth first), for `ls -R` and search.
pub fn list_recursive(tree: &MergedTree, layers: &[&LayerIndex], path: &[u8], opts: &ListOptions<'_>) -> Result<Vec<DirEntryView>, Error> {
    let mut rows: Vec<DirEntryView> = Vec::new();
    walk_rows(tree, layers, path, opts, &mut |r| {
        rows.push(r);
        true
    })?;
    if opts.sort == SortOrder::Size {
        sort_rows(&mut rows, opts.sort);
    }
    Ok(rows)
}

/// The rows of [`list_recursive`] (filtered, in name order), handed to `visit` one at a
/// time until it returns false. Each row holds its full path, so keeping them all costs
/// the sum of the path lengths (quadratic in the depth of a deep tree): a caller that
/// prints them, or wants only the first few matches, should not collect them.
pub fn walk_rows(
    tree: &MergedTree,
    layers: &[&LayerIndex],
    path: &[u8],
    opts: &ListOptions<'_>,
    visit: &mut dyn FnMut(DirEntryView) -> bool,
) -> Result<(), Error> {
    let norm = crate::layer::normalize_path(path);
    let dir = tree.find(&norm).ok_or_else(|| Error::NotFound { what: format!("path /{}", display_path(&norm)) })?;
    // Depth first, sorted by name (pre-order); a layer view also lists that layer's
    // tombstones (never expanded). Each stack item carries the length of its parent's
    // path in `path_buf`, which holds the path of the node being visited.
    let mut path_buf: Vec<u8> = norm.to_vec();
    let mut stack: Vec<(NodeId, usize)> = vec![(dir, 0)];
    while let Some((n, parent_len)) = stack.pop() {
        if n != dir {
            path_buf.truncate(parent_len);
            if !path_buf.is_empty() {
                path_buf.push(b'/');
            }
            path_buf.extend_from_slice(tree.name(n));
            // A row is built (names, sizes, strings) only when it is wanted: a search of one
            // layer's changes walks every path of the tree and keeps a few.
            let wanted = (!opts.only_changes || change_of(tree, n, opts).is_some())
                && opts.filter.as_ref().is_none_or(|f| f.matches(&path_buf));
            if wanted && !visit(row_at(tree, layers, n, opts, &path_buf)) {
                return Ok(());
            }
        }
        if !(tree.is_alive(n) && tree.kind(n) == EntryKind::Dir) {
            continue;
        }
        let mut kids: Vec<NodeId> = tree.children(n).collect();
        if let Some(l) = opts.changes_of_layer {
            kids.extend(tree.deleted_children(n, l));
            kids.sort_by(|&x, &y| tree.name(x).cmp(tree.name(y)));
        }
        let here = path_buf.len();
        stack.extend(kids.into_iter().rev().map(|k| (k, here)));
    }
    Ok(())
}

fn sort_rows(rows: &mut [DirEntryView], sort: SortOrder) {
    match sort {
        SortOrder::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        SortOrder::Size => rows.sort_by(|a, b| {
            let sa = a.cumulative_size.unwrap_or(a.size);
            let sb = b.cumulative_size.unwrap_or(b.size);
            sb.cmp(&sa).then_with(|| a.path.cmp(&b.path))
        }),
    }
}

/// How the layer of `opts.changes_of_layer` changed node `n` (a dead node is a tombstone).
fn change_of(tree: &MergedTree, n: NodeId, opts: &ListOptions<'_>) -> Option<ChangeKind> {
    match opts.changes_of_layer {
        Some(_) if !tree.is_alive(n) => Some(ChangeKind::Deleted),
        Some(l) => match tree.last_change(n) {
            Some((cl, k)) if cl == l => Some(k),
            _ => None,
        },
        None => None,
    }
}

/// One row for one node (live, or a tombstone).
pub fn row(tree: &MergedTree, layers: &[&LayerIndex], n: NodeId, opts: &ListOptions<'_>) -> DirEntryView {
    row_at(tree, layers, n, opts, &tree.path(n))
}

/// [`row`], with the node's raw path already known.
fn row_at(tree: &MergedTree, layers: &[&LayerIndex], n: NodeId, opts: &ListOptions<'_>, raw_path: &[u8]) -> DirEntryView {
    let entry = tree.entry_ref(n).and_then(|r| tree.entry(layers, r));
    let content = tree.content_ref(n).and_then(|r| tree.entry(layers, r));
    // A hardlink to a symlink or a device *is* that symlink or device (Linux `link()` links
    // the inode itself): show it as one, with its target or device numbers.
    let (kind, shown) = match (tree.kind(n), content) {
        (EntryKind::Hardlink, Some(c)) if c.kind != EntryKind::File => (c.kind, Some(c)),
        (kind, _) => (kind, entry),
    };
    let alive = tree.is_alive(n);
    let change = change_of(tree, n, opts);
    let shadow = match (opts.full_tree, tree.entry_ref(n)) {
        (Some(full), Some(r)) => full.status(r),
        (None, Some(r)) => tree.status(r),
        _ => None,
    };
    DirEntryView {
        name: display_path(tree.name(n)),
        path: display_path(raw_path),
        kind,
        size: tree.size(n),
        cumulative_size: if kind == EntryKind::Dir { Some(tree.cumulative_size(n)) } else { None },
        mode: shown.map(|e| e.mode).unwrap_or(if kind == EntryKind::Dir { 0o755 } else { 0o644 }),
        uid: shown.map(|e| e.uid).unwrap_or(0),
        gid: shown.map(|e| e.gid).unwrap_or(0),
        mtime: shown.map(|e| e.mtime).unwrap_or(0),
        link: shown.and_then(|e| e.link.as_deref()).map(display_path),
        device: match kind {
            EntryKind::Char | EntryKind::Block => shown.map(|e| (e.dev_major, e.dev_minor)),
            _ => None,
        },
        layer: tree.layer_of(n),
        implicit: entry.is_none(),
        change,
        shadow,
        children: if kind == EntryKind::Dir && alive { Some(tree.children(n).count()) } else { None },
        content_hash: match kind {
            EntryKind::File | EntryKind::Hardlink => content.and_then(|c| c.content_hash).map(|h| format!("{h:016x}")),
            _ => None,
        },
    }
}

/// What one layer did to one path: a step of [`path_story`].
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PathEvent {
    pub layer: u32,
    /// Added (the path was not there below), modified (it was: this copy covers the lower
    /// one), or deleted.
    pub change: ChangeKind,
    /// The kind written; for a deletion, the kind removed.
    pub kind: EntryKind,
    /// Content bytes written; for a deletion, the bytes of the copy removed.
    pub size: u64,
    /// Deletions: the entry of that layer that did it, by its real name (`demo/.wh.b.txt`,
    /// `demo/config/.wh..wh..opq`, or a non-directory written where a parent directory was).
    pub by: Option<String>,
    /// A directory no entry declared, made for an entry below it.
    pub implicit: bool,
}

/// Is `path` strictly below directory `dir` (`""` is the root)?
fn is_below(path: &[u8], dir: &[u8]) -> bool {
    dir.is_empty() && !path.is_empty() || path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

fn split_parent(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

/// A whiteout (`Some(target)`) or opaque marker (`Some(dir)`, with `true`) of a layer, by the
/// rules of the merge (`tree.rs`): AUFS metadata and bare `.wh.` are neither.
fn marker_target(path: &[u8]) -> Option<(Vec<u8>, bool)> {
    let (dir, base) = split_parent(path);
    if base == b".wh..wh..opq" {
        return Some((dir.to_vec(), true));
    }
    if base.starts_with(b".wh..wh.") || base == b".wh." {
        return None;
    }
    let name = base.strip_prefix(b".wh.")?;
    let mut target = dir.to_vec();
    if !target.is_empty() {
        target.push(b'/');
    }
    target.extend_from_slice(name);
    Some((target, false))
}

/// Any component starts with `.wh.`: a marker, AUFS metadata, or below one (never shown).
fn has_wh_component(path: &[u8]) -> bool {
    path.split(|&b| b == b'/').any(|c| c.starts_with(b".wh."))
}

/// Every layer that touched `path` (normalised, `""` is the root), bottom first: where it was
/// added, overwritten, deleted (and by which whiteout, opaque marker or replaced parent), and
/// added again. The layers' own rules apply as in the merge: a layer's markers act on the
/// layers below it before its other entries; a directory declared again with the same mode
/// and owner is not a change. One pass over every entry of every layer.
pub fn path_story(layers: &[&LayerIndex], path: &[u8]) -> Vec<PathEvent> {
    let path = crate::layer::normalize_path(path);
    let mut events = Vec::new();
    // What is at `path` below the layer being read: (kind, size, mode, uid, gid).
    let mut present: Option<(EntryKind, u64, u32, u64, u64)> = if path.is_empty() { Some((EntryKind::Dir, 0, 0o755, 0, 0)) } else { None };
    for (l, layer) in layers.iter().enumerate() {
        let l = l as u32;
        if let Some((kind, size, ..)) = present {
            let marker = layer.entries.iter().find(|e| match marker_target(&e.path) {
                Some((dir, true)) => is_below(&path, &dir),
                Some((target, false)) => *target == *path || is_below(&path, &target),
                None => false,
            });
            if let Some(m) = marker {
                events.push(PathEvent { layer: l, change: ChangeKind::Deleted, kind, size, by: Some(display_path(&m.path)), implicit: false });
                present = None;
            }
        }
        for e in layer.entries.iter().filter(|e| !has_wh_component(&e.path)) {
            if *e.path == *path {
                let same_dir = matches!(present, Some((EntryKind::Dir, _, mode, uid, gid)) if e.kind == EntryKind::Dir && (mode, uid, gid) == (e.mode, e.uid, e.gid));
                if !same_dir {
                    let change = if present.is_some() { ChangeKind::Modified } else { ChangeKind::Added };
                    events.push(PathEvent { layer: l, change, kind: e.kind, size: e.size, by: None, implicit: false });
                }
                present = Some((e.kind, e.size, e.mode, e.uid, e.gid));
            } else if is_below(&path, &e.path) && e.kind != EntryKind::Dir {
                if let Some((kind, size, ..)) = present.take() {
                    events.push(PathEvent { layer: l, change: ChangeKind::Deleted, kind, size, by: Some(display_path(&e.path)), implicit: false });
                }
            } else if is_below(&e.path, &path) && !matches!(present, Some((EntryKind::Dir, ..))) {
                let change = if present.is_some() { ChangeKind::Modified } else { ChangeKind::Added };
                events.push(PathEvent { layer: l, change, kind: EntryKind::Dir, size: 0, by: None, implicit: true });
                present = Some((EntryKind::Dir, 0, 0o755, 0, 0));
            }
        }
    }
    events
}

/// One whiteout or opaque marker of a layer, by its real name in the layer's tar.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MarkerView {
    /// The marker's own path (`demo/.wh.b.txt`, `demo/config/.wh..wh..opq`).
    pub path: String,
    /// True for an opaque-directory marker, false for a whiteout.
    pub opaque: bool,
    /// Whiteout: the path it deletes. Opaque: the directory whose lower contents it hides.
    pub target: String,
    /// Paths (whole subtrees counted) and file bytes it removed from the layers below.
    pub removed_paths: u64,
    pub removed_bytes: u64,
}

/// The whiteout and opaque markers of layer `k` (at most `limit`, tar order), with what each
/// removed. `tree` is the merge of `layers[..=k]` (its deletions are layer k's).
pub fn layer_markers(tree: &MergedTree, layers: &[&LayerIndex], k: usize, limit: usize) -> Vec<MarkerView> {
    let Some(layer) = layers.get(k) else { return Vec::new() };
    let mut out = Vec::new();
    for (i, e) in layer.entries.iter().enumerate() {
        let opaque = match tree.layer_status(k).get(i) {
            Some(EntryStatus::Whiteout) => false,
            Some(EntryStatus::Opaque) => true,
            _ => continue,
        };
        let Some((target, _)) = marker_target(&e.path) else { continue };
        let (mut removed_paths, mut removed_bytes) = (0, 0u64);
        for c in tree.changes(k).iter().filter(|c| c.kind == ChangeKind::Deleted) {
            let raw = crate::layer::parse_display_path(&c.path);
            let hit = if opaque { split_parent(&raw).0 == target.as_slice() } else { *raw == *target };
            if hit {
                removed_paths += c.paths;
                removed_bytes = removed_bytes.saturating_add(c.bytes);
            }
        }
        out.push(MarkerView { path: display_path(&e.path), opaque, target: display_path(&target), removed_paths, removed_bytes });
        if out.len() >= limit {
            break;
        }
    }
    out
}

/// `ls -l`-style mode string, e.g. `drwxr-xr-x`.
pub fn mode_string(kind: EntryKind, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(match kind {
        EntryKind::Hardlink => '-',
        k => k.letter(),
    });
    let bits = [(0o400, 'r'), (0o200, 'w'), (0o100, 'x'), (0o040, 'r'), (0o020, 'w'), (0o010, 'x'), (0o004, 'r'), (0o002, 'w'), (0o001, 'x')];
    for (i, (bit, ch)) in bits.iter().enumerate() {
        let set = mode & bit != 0;
        let c = match i {
            2 if mode & 0o4000 != 0 => if set { 's' } else { 'S' },
            5 if mode & 0o2000 != 0 => if set { 's' } else { 'S' },
            8 if mode & 0o1000 != 0 => if set { 't' } else { 'T' },
            _ => if set { *ch } else { '-' },
        };
        s.push(c);
    }
    s
}
