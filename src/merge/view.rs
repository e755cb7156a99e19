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
            let wanted = opts.filter.as_ref().is_none_or(|f| f.matches(&path_buf));
            if wanted {
                let r = row_at(tree, layers, n, opts, &path_buf);
                if (!opts.only_changes || r.change.is_some()) && !visit(r) {
                    return Ok(());
                }
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
    let change = match opts.changes_of_layer {
        Some(_) if !alive => Some(ChangeKind::Deleted),
        Some(l) => match tree.last_change(n) {
            Some((cl, k)) if cl == l => Some(k),
            _ => None,
        },
        None => None,
    };
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
