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
    let norm = crate::layer::normalize_path(path);
    let dir = tree.find(&norm).ok_or_else(|| Error::NotFound { what: format!("path /{}", display_path(&norm)) })?;
    let mut rows: Vec<DirEntryView> = Vec::new();
    // Depth first, sorted by name (pre-order); a layer view also lists that layer's
    // tombstones (never expanded).
    let mut stack: Vec<NodeId> = vec![dir];
    while let Some(n) = stack.pop() {
        if n != dir {
            rows.push(row(tree, layers, n, opts));
        }
        if !(tree.is_alive(n) && tree.kind(n) == EntryKind::Dir) {
            continue;
        }
        let mut kids: Vec<NodeId> = tree.children(n).collect();
        if let Some(l) = opts.changes_of_layer {
            kids.extend(tree.deleted_children(n, l));
            kids.sort_by(|&x, &y| tree.name(x).cmp(tree.name(y)));
        }
        stack.extend(kids.into_iter().rev());
    }
    if let Some(f) = &opts.filter {
        rows.retain(|r| f.matches(&crate::layer::parse_display_path(&r.path)));
    }
    if opts.only_changes {
        rows.retain(|r| r.change.is_some());
    }
    if opts.sort == SortOrder::Size {
        sort_rows(&mut rows, opts.sort);
    }
    Ok(rows)
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
    let kind = tree.kind(n);
    let entry = tree.entry_ref(n).and_then(|r| tree.entry(layers, r));
    let content = tree.content_ref(n).and_then(|r| tree.entry(layers, r));
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
        path: display_path(&tree.path(n)),
        kind,
        size: tree.size(n),
        cumulative_size: if kind == EntryKind::Dir { Some(tree.cumulative_size(n)) } else { None },
        mode: entry.map(|e| e.mode).unwrap_or(if kind == EntryKind::Dir { 0o755 } else { 0o644 }),
        uid: entry.map(|e| e.uid).unwrap_or(0),
        gid: entry.map(|e| e.gid).unwrap_or(0),
        mtime: entry.map(|e| e.mtime).unwrap_or(0),
        link: entry.and_then(|e| e.link.as_deref()).map(display_path),
        device: match kind {
            EntryKind::Char | EntryKind::Block => entry.map(|e| (e.dev_major, e.dev_minor)),
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
