//! The merged (union) filesystem of an image, built from its layer indexes alone.
//!
//! The tree is an arena of nodes: children are vectors of node ids and names live in
//! one shared byte pool, so a tree costs about one small struct per path and nothing
//! borrows from the layer indexes (the page can keep it next to the archive).
//!
//! Merge rules (FORMATS.md, "Merging layers"), applied one layer at a time:
//! 1. Whiteouts (`.wh.<name>`) and opaque markers (`.wh..wh..opq`) of the layer are applied
//!    first, wherever they sit in the tar, and only ever against the layers *below*
//!    (OCI image-spec: "files that are present in the same layer as a whiteout file can only
//!    be hidden by whiteout files in subsequent layers").
//! 2. Then the layer's other entries, in tar order, last one wins: a directory over a
//!    directory merges (attributes replaced, children kept); anything else replaces (a file
//!    over a directory removes the whole subtree, a directory over a file replaces the file).
//!    Missing parent directories are created implicitly (and replace a non-directory).
//! 3. Hardlinks take their target's content as it is at that moment: the node keeps a
//!    reference to the target's file entry, so a later change of the target does not
//!    change the link.
//! 4. AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`, `.wh..wh.orph`, any `.wh..wh.*` but the
//!    opaque marker) is hidden; files under `.wh..wh.plnk/` can still be hardlink targets,
//!    as Docker resolves them. A bare `.wh.` and paths with `..` are problems, not crashes.

use crate::codes::{Code, Message, Params};
use crate::layer::{display_path, EntryKind, LayerEntry, LayerIndex};
use crate::report::{Finding, Severity};
use serde::Serialize;
use std::collections::HashMap;

/// Entries of all of an image's layers (counting a layer listed twice twice) that one merge
/// takes on; above it, the upper layers are left out with an error.
pub const MAX_MERGED_ENTRIES: usize = 2_000_000;
/// The same for the bytes of their names (paths and link targets): each layer is capped at
/// [`crate::layer::MAX_NAME_BYTES_PER_LAYER`], and an image of many such layers is capped
/// here, so a merge's memory stays bounded whatever the names.
pub const MAX_MERGED_NAME_BYTES: u64 = 256 << 20;

/// Index of a node in [`MergedTree`]'s arena. The root is [`ROOT`].
pub type NodeId = u32;
pub const ROOT: NodeId = 0;

/// One entry of one layer: `layers[layer].entries[index]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct EntryRef {
    pub layer: u32,
    pub index: u32,
}

/// What became of one entry of one layer in the merged image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EntryStatus {
    /// Visible in the merged tree (for a directory: its attributes are the ones shown).
    Visible,
    /// A later entry at the same path replaced it (`by_layer` may be its own layer, for
    /// a duplicate entry in one tar).
    Overwritten { by_layer: u32 },
    /// A whiteout, an opaque directory, or the replacement of a parent directory removed it.
    Deleted { by_layer: u32 },
    /// A whiteout marker (`.wh.<name>`): never shown.
    Whiteout,
    /// An opaque-directory marker (`.wh..wh..opq`): never shown.
    Opaque,
    /// AUFS metadata (`.wh..wh.plnk` and friends): never shown.
    Hidden,
    /// Not applied: a bare `.wh.`, a `..` component, a non-directory at the root.
    Invalid,
}

impl EntryStatus {
    pub fn is_visible(self) -> bool {
        matches!(self, EntryStatus::Visible)
    }
}

/// How a layer changed a path, relative to the layers below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The path did not exist below.
    Added,
    /// The path existed below and this layer rewrote it (directories only when their
    /// mode or owner changed: re-declared parent directories are not changes).
    Modified,
    /// A whiteout or opaque marker of this layer removed it.
    Deleted,
}

/// One change made by one layer.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    #[serde(skip)]
    pub node: NodeId,
    pub path: String,
    pub kind: ChangeKind,
    /// The layer's entry that made the change (None for deletions).
    pub entry: Option<u32>,
    pub entry_kind: EntryKind,
    /// Added/modified: content bytes written. Deleted: file bytes removed (whole subtree).
    pub bytes: u64,
    /// Deleted: paths removed (whole subtree). Otherwise 1.
    pub paths: u64,
}

/// Counts of one layer's changes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ChangeCounts {
    pub added: u64,
    pub added_bytes: u64,
    pub modified: u64,
    pub modified_bytes: u64,
    pub deleted: u64,
    pub deleted_bytes: u64,
}

/// Something odd in a layer that the merge worked around.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MergeProblem {
    pub layer: u32,
    pub path: String,
    pub severity: Severity,
    /// What happened, as a code and its named parameters.
    pub code: Code,
    pub params: Params,
    /// The same in English, generated from the code.
    pub message: String,
}

impl MergeProblem {
    /// As a report finding (location: `layer N: path`).
    pub fn to_finding(&self) -> Finding {
        let what = Message { code: self.code, params: self.params.clone() };
        Finding::new(self.severity, what, Some(format!("layer {}: {}", self.layer, self.path)))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    name_off: u32,
    name_len: u32,
    pub(crate) parent: NodeId,
    /// All children ever attached, dead ones included (they are the deletion tombstones
    /// of the layer view). Sorted by name once the build is done.
    pub(crate) children: Vec<NodeId>,
    pub(crate) kind: EntryKind,
    /// The entry that wrote this path last (None: implicit directory, or the root).
    pub(crate) entry: Option<EntryRef>,
    /// Files and hardlinks: the file entry whose bytes this path shows. Hardlinks to
    /// other kinds point at that entry (a symlink, a device...).
    pub(crate) content: Option<EntryRef>,
    /// The layer that last wrote this path.
    pub(crate) layer: u32,
    pub(crate) alive: bool,
    /// Dead nodes: the layer that removed it.
    pub(crate) deleted_by: Option<u32>,
    /// Dead nodes: removed directly by a whiteout/opaque marker (a `Deleted` change).
    pub(crate) top_deleted: bool,
    /// The last change made to this path: (layer, kind).
    pub(crate) change: Option<(u32, ChangeKind)>,
    /// Content bytes (files and hardlinks: the target's size).
    pub(crate) size: u64,
    /// Directories: bytes of all files below (hardlinks counted once, at their first path).
    pub(crate) cumulative: u64,
}

impl Node {
    /// A new live node, with no children, content, change or sizes yet.
    fn live(name_off: u32, name_len: u32, parent: NodeId, kind: EntryKind, entry: Option<EntryRef>, layer: u32) -> Node {
        Node {
            name_off,
            name_len,
            parent,
            children: Vec::new(),
            kind,
            entry,
            content: None,
            layer,
            alive: true,
            deleted_by: None,
            top_deleted: false,
            change: None,
            size: 0,
            cumulative: 0,
        }
    }
}

/// The merged filesystem of a stack of layers, plus what happened to every entry.
#[derive(Debug, Clone)]
pub struct MergedTree {
    pub(crate) nodes: Vec<Node>,
    names: Vec<u8>,
    /// `status[layer][entry]`.
    pub(crate) status: Vec<Vec<EntryStatus>>,
    pub(crate) changes: Vec<Vec<Change>>,
    pub(crate) problems: Vec<MergeProblem>,
}

/// How a tar path is to be treated.
enum Class<'p> {
    Normal,
    /// `.wh.<name>` in directory `dir`.
    Whiteout { dir: &'p [u8], name: &'p [u8] },
    /// `.wh..wh..opq` in directory `dir`.
    Opaque { dir: &'p [u8] },
    /// AUFS metadata (`.wh..wh.*` other than the opaque marker), or something below it.
    AufsMeta,
    /// Why the entry is not applied (a merge-warning code).
    Invalid(Code),
}

const WH: &[u8] = b".wh.";
const WH_META: &[u8] = b".wh..wh.";
const WH_OPQ: &[u8] = b".wh..wh..opq";

fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty())
}

fn classify(path: &[u8]) -> Class<'_> {
    let (dir, base) = split_last(path);
    for c in components(dir) {
        if c == b".." {
            return Class::Invalid(Code::PathDotDot);
        }
        if c.starts_with(WH_META) && c != WH_OPQ {
            return Class::AufsMeta;
        }
        if c.starts_with(WH) {
            return Class::Invalid(Code::EntryBelowWhiteout);
        }
    }
    if base == b".." {
        return Class::Invalid(Code::PathDotDot);
    }
    if base == WH_OPQ {
        return Class::Opaque { dir };
    }
    if base.starts_with(WH_META) {
        return Class::AufsMeta;
    }
    if base == WH {
        return Class::Invalid(Code::BareWhiteout);
    }
    if let Some(name) = base.strip_prefix(WH) {
        return Class::Whiteout { dir, name };
    }
    Class::Normal
}

/// The state of a path below the layer being applied (for change classification).
#[derive(Clone, Copy)]
struct Prior {
    kind: EntryKind,
    entry: Option<EntryRef>,
}

struct Builder<'l> {
    layers: &'l [&'l LayerIndex],
    t: MergedTree,
    /// (parent, name) → the live node with that name. Dropped after the build.
    lookup: ChildIndex,
    /// Files under `.wh..wh.plnk/`, by base name: AUFS hardlink targets.
    aufs_links: HashMap<Box<[u8]>, EntryRef>,
    /// Set when the arena cannot grow any more (more than u32::MAX nodes).
    full: bool,
}

/// (parent, name) → the live child with that name, without a second copy of every name:
/// keyed by the parent and a hash of the name, the name itself compared in the tree's name
/// arena. (Keyed by whole names, this map held a copy of every name: with long names, as
/// much memory again as the tree.) Two names under one parent whose hashes collide (xxh3
/// is no defence against an archive made to collide) keep the later one in a side table
/// keyed by the whole name.
#[derive(Default)]
struct ChildIndex {
    by_hash: HashMap<(NodeId, u64), NodeId>,
    colliding: HashMap<(NodeId, Box<[u8]>), NodeId>,
}

impl ChildIndex {
    fn get(&self, t: &MergedTree, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let hash = xxhash_rust::xxh3::xxh3_64(name);
        match self.by_hash.get(&(parent, hash)) {
            Some(&id) if t.name(id) == name => Some(id),
            _ if self.colliding.is_empty() => None,
            _ => self.colliding.get(&(parent, Box::from(name))).copied(),
        }
    }

    /// Make `id` (already in the arena, under `parent`) the live child by its name.
    fn insert(&mut self, t: &MergedTree, parent: NodeId, id: NodeId) {
        let name = t.name(id);
        let hash = xxhash_rust::xxh3::xxh3_64(name);
        match self.by_hash.entry((parent, hash)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                if t.name(*o.get()) == name {
                    o.insert(id);
                } else {
                    self.colliding.insert((parent, Box::from(name)), id);
                }
            }
        }
    }

    /// `id` is no longer live: forget it (if it is still the one its name leads to).
    fn remove(&mut self, t: &MergedTree, parent: NodeId, id: NodeId) {
        let name = t.name(id);
        let key = (parent, xxhash_rust::xxh3::xxh3_64(name));
        if self.by_hash.get(&key) == Some(&id) {
            self.by_hash.remove(&key);
        } else if !self.colliding.is_empty() {
            let key = (parent, Box::from(name));
            if self.colliding.get(&key) == Some(&id) {
                self.colliding.remove(&key);
            }
        }
    }
}

impl MergedTree {
    /// Merge `layers` (bottom first). Never fails: odd input becomes [`MergeProblem`]s.
    pub fn build(layers: &[&LayerIndex]) -> MergedTree {
        Self::build_with_progress(layers, &mut |_, _| {})
    }

    /// As [`MergedTree::build`], calling `progress(layers_done, layers_total)` after each layer.
    pub fn build_with_progress(layers: &[&LayerIndex], progress: &mut dyn FnMut(usize, usize)) -> MergedTree {
        let root = Node::live(0, 0, ROOT, EntryKind::Dir, None, 0);
        let mut b = Builder {
            layers,
            t: MergedTree {
                nodes: vec![root],
                names: Vec::new(),
                // Filled layer by layer as each is merged (a layer left out has none).
                status: vec![Vec::new(); layers.len()],
                changes: vec![Vec::new(); layers.len()],
                problems: Vec::new(),
            },
            lookup: ChildIndex::default(),
            aufs_links: HashMap::new(),
            full: false,
        };
        let mut merged_entries = 0usize;
        let mut merged_names = 0u64;
        for (l, layer) in layers.iter().enumerate() {
            if u32::try_from(l).is_err() || u32::try_from(layer.entries.len()).is_err() {
                b.problem(l as u32, b"", Severity::Error, Code::MergeTooMany.into());
                break;
            }
            merged_entries = merged_entries.saturating_add(layer.entries.len());
            merged_names = merged_names.saturating_add(layer.entries.iter().map(crate::layer::name_bytes).sum());
            if merged_names > MAX_MERGED_NAME_BYTES {
                let message = Message::new(Code::MergeNamesLimit).with("mib", MAX_MERGED_NAME_BYTES >> 20).with("layer", l);
                b.problem(l as u32, b"", Severity::Error, message);
                break;
            }
            if merged_entries > MAX_MERGED_ENTRIES {
                // Merge work and memory grow with the entries of every layer reference: one
                // small layer listed 10 000 times would otherwise cost gigabytes.
                let message = Message::new(Code::MergeEntriesLimit).with("max", MAX_MERGED_ENTRIES).with("layer", l);
                b.problem(l as u32, b"", Severity::Error, message);
                break;
            }
            b.t.status[l] = vec![EntryStatus::Visible; layer.entries.len()];
            b.apply_layer(l as u32, layer);
            progress(l + 1, layers.len());
        }
        let mut t = b.t;
        t.finish();
        t
    }

    fn finish(&mut self) {
        // Children are created after their parent and a parent is never replaced while
        // keeping its children, so every child id is larger than its parent's: one
        // backwards pass sums directory sizes bottom-up.
        let mut seen_content: std::collections::HashSet<EntryRef> = std::collections::HashSet::new();
        // Count each file content once (hardlinks share it): first in id order owns it.
        let mut own: Vec<u64> = vec![0; self.nodes.len()];
        for (id, n) in self.nodes.iter().enumerate() {
            if n.alive && matches!(n.kind, EntryKind::File | EntryKind::Hardlink) {
                if let Some(c) = n.content {
                    if seen_content.insert(c) {
                        own[id] = n.size;
                    }
                }
            }
        }
        for id in (1..self.nodes.len()).rev() {
            let (alive, parent) = (self.nodes[id].alive, self.nodes[id].parent as usize);
            if !alive {
                continue;
            }
            // Saturating: declared sizes of one image can add up past 2^64 (the fuzzer's
            // made-up layers do; a hostile sparse file could).
            let total = own[id].saturating_add(self.nodes[id].cumulative);
            self.nodes[id].cumulative = total;
            if parent < id {
                self.nodes[parent].cumulative = self.nodes[parent].cumulative.saturating_add(total);
            }
        }
        // Sort children by name (dead before alive for equal names), for binary search.
        let mut children_lists: Vec<Vec<NodeId>> = self.nodes.iter_mut().map(|n| std::mem::take(&mut n.children)).collect();
        for list in children_lists.iter_mut() {
            list.sort_by(|&a, &b| {
                self.name(a).cmp(self.name(b)).then(self.nodes[a as usize].alive.cmp(&self.nodes[b as usize].alive))
            });
        }
        for (n, list) in self.nodes.iter_mut().zip(children_lists) {
            n.children = list;
        }
    }

    /// Name of a node (raw bytes; empty for the root).
    pub fn name(&self, id: NodeId) -> &[u8] {
        match self.nodes.get(id as usize) {
            Some(n) => {
                let (a, l) = (n.name_off as usize, n.name_len as usize);
                self.names.get(a..a + l).unwrap_or(&[])
            }
            None => &[],
        }
    }

    /// Full path of a node (raw bytes, no leading `/`).
    pub fn path(&self, id: NodeId) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut cur = id;
        // Bounded by the arena size, so a corrupted parent chain cannot loop forever.
        for _ in 0..self.nodes.len() {
            if cur == ROOT {
                break;
            }
            parts.push(cur);
            cur = self.nodes.get(cur as usize).map(|n| n.parent).unwrap_or(ROOT);
        }
        let mut out = Vec::new();
        for (i, p) in parts.iter().rev().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(self.name(*p));
        }
        out
    }

    /// The live child of `dir` called `name`.
    pub fn child(&self, dir: NodeId, name: &[u8]) -> Option<NodeId> {
        let list = &self.nodes.get(dir as usize)?.children;
        let start = list.partition_point(|&c| self.name(c) < name);
        list[start..]
            .iter()
            .take_while(|&&c| self.name(c) == name)
            .copied()
            .find(|&c| self.nodes[c as usize].alive)
    }

    /// The live node at a normalised path, not following symlinks (`""` is the root).
    pub fn find(&self, path: &[u8]) -> Option<NodeId> {
        let mut cur = ROOT;
        for c in components(path) {
            cur = self.child(cur, c)?;
        }
        Some(cur)
    }

    /// Live children of a directory, sorted by name.
    pub fn children(&self, dir: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes
            .get(dir as usize)
            .map(|n| n.children.as_slice())
            .unwrap_or(&[])
            .iter()
            .copied()
            .filter(|&c| self.nodes[c as usize].alive)
    }

    /// Every live node below `dir` (not `dir` itself), depth first, sorted by name.
    pub fn walk(&self, dir: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack: Vec<NodeId> = self.children(dir).collect();
        stack.reverse();
        while let Some(n) = stack.pop() {
            out.push(n);
            let before = stack.len();
            stack.extend(self.children(n));
            stack[before..].reverse();
        }
        out
    }

    pub fn kind(&self, id: NodeId) -> EntryKind {
        self.nodes.get(id as usize).map(|n| n.kind).unwrap_or(EntryKind::Other)
    }
    pub fn is_alive(&self, id: NodeId) -> bool {
        self.nodes.get(id as usize).map(|n| n.alive).unwrap_or(false)
    }
    /// The entry that last wrote this path (None for implicit directories and the root).
    pub fn entry_ref(&self, id: NodeId) -> Option<EntryRef> {
        self.nodes.get(id as usize).and_then(|n| n.entry)
    }
    /// For files and hardlinks: the file entry whose bytes the path shows.
    pub fn content_ref(&self, id: NodeId) -> Option<EntryRef> {
        self.nodes.get(id as usize).and_then(|n| n.content)
    }
    /// The layer that last wrote this path.
    pub fn layer_of(&self, id: NodeId) -> u32 {
        self.nodes.get(id as usize).map(|n| n.layer).unwrap_or(0)
    }
    /// Content size (files; hardlinks: their target's size).
    pub fn size(&self, id: NodeId) -> u64 {
        self.nodes.get(id as usize).map(|n| n.size).unwrap_or(0)
    }
    /// Directories: bytes of every file below (each hardlinked content once).
    /// Files: their own size, unless it is a hardlink whose content was counted elsewhere.
    pub fn cumulative_size(&self, id: NodeId) -> u64 {
        self.nodes.get(id as usize).map(|n| n.cumulative).unwrap_or(0)
    }
    /// The last change to this path: (layer, kind).
    pub fn last_change(&self, id: NodeId) -> Option<(u32, ChangeKind)> {
        self.nodes.get(id as usize).and_then(|n| n.change)
    }
    /// Number of nodes in the arena (live and dead).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    pub fn layer_count(&self) -> usize {
        self.status.len()
    }

    /// What became of `layers[layer].entries[index]`.
    pub fn status(&self, r: EntryRef) -> Option<EntryStatus> {
        self.status.get(r.layer as usize)?.get(r.index as usize).copied()
    }
    /// Statuses of every entry of one layer, in tar order.
    pub fn layer_status(&self, layer: usize) -> &[EntryStatus] {
        self.status.get(layer).map(|v| v.as_slice()).unwrap_or(&[])
    }
    /// Changes made by one layer (added and modified in tar order, then deletions).
    pub fn changes(&self, layer: usize) -> &[Change] {
        self.changes.get(layer).map(|v| v.as_slice()).unwrap_or(&[])
    }
    pub fn change_counts(&self, layer: usize) -> ChangeCounts {
        let mut c = ChangeCounts::default();
        for ch in self.changes(layer) {
            match ch.kind {
                ChangeKind::Added => {
                    c.added += 1;
                    c.added_bytes = c.added_bytes.saturating_add(ch.bytes);
                }
                ChangeKind::Modified => {
                    c.modified += 1;
                    c.modified_bytes = c.modified_bytes.saturating_add(ch.bytes);
                }
                ChangeKind::Deleted => {
                    c.deleted += ch.paths;
                    c.deleted_bytes = c.deleted_bytes.saturating_add(ch.bytes);
                }
            }
        }
        c
    }
    /// Odd things the merge met (bare `.wh.`, `..`, broken hardlinks...).
    pub fn problems(&self) -> &[MergeProblem] {
        &self.problems
    }

    /// The entry a reference points at.
    pub fn entry<'a>(&self, layers: &[&'a LayerIndex], r: EntryRef) -> Option<&'a LayerEntry> {
        layers.get(r.layer as usize)?.entries.get(r.index as usize)
    }

    /// Dead children of `dir` that `layer` deleted by whiteout/opaque and that no live
    /// sibling replaced: the tombstones of a layer view.
    pub fn deleted_children(&self, dir: NodeId, layer: u32) -> Vec<NodeId> {
        let list = match self.nodes.get(dir as usize) {
            Some(n) => &n.children,
            None => return Vec::new(),
        };
        list.iter()
            .copied()
            .filter(|&c| {
                let n = &self.nodes[c as usize];
                !n.alive && n.top_deleted && n.deleted_by == Some(layer) && self.child(dir, self.name(c)).is_none()
            })
            .collect()
    }

    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id as usize)
    }
}

impl<'l> Builder<'l> {
    fn problem(&mut self, layer: u32, path: &[u8], severity: Severity, what: Message) {
        let message = what.english();
        self.t.problems.push(MergeProblem { layer, path: display_path(path), severity, code: what.code, params: what.params, message });
    }

    fn child(&mut self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        self.lookup.get(&self.t, parent, name)
    }

    fn find(&mut self, path: &[u8]) -> Option<NodeId> {
        let mut cur = ROOT;
        for c in components(path) {
            cur = self.child(cur, c)?;
        }
        Some(cur)
    }

    fn create(&mut self, parent: NodeId, name: &[u8], kind: EntryKind, entry: Option<EntryRef>, layer: u32) -> Option<NodeId> {
        let id = match u32::try_from(self.t.nodes.len()) {
            Ok(id) if id < u32::MAX && self.t.names.len() + name.len() < u32::MAX as usize => id,
            _ => {
                if !self.full {
                    self.full = true;
                    self.problem(layer, name, Severity::Error, Code::MergedTreeTooLarge.into());
                }
                return None;
            }
        };
        let name_off = self.t.names.len() as u32;
        self.t.names.extend_from_slice(name);
        self.t.nodes.push(Node::live(name_off, name.len() as u32, parent, kind, entry, layer));
        self.t.nodes[parent as usize].children.push(id);
        self.lookup.insert(&self.t, parent, id);
        Some(id)
    }

    fn set_status(&mut self, r: Option<EntryRef>, s: EntryStatus) {
        if let Some(r) = r {
            if let Some(slot) = self.t.status.get_mut(r.layer as usize).and_then(|v| v.get_mut(r.index as usize)) {
                *slot = s;
            }
        }
    }

    /// Remove `id` and its subtree. The node's own entry gets `top`, everything below
    /// `Deleted { by_layer }`. Returns (paths removed, file bytes removed).
    fn kill(&mut self, id: NodeId, layer: u32, top: EntryStatus) -> (u64, u64) {
        let (mut paths, mut bytes) = (0u64, 0u64);
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            let node = &self.t.nodes[n as usize];
            if !node.alive {
                continue;
            }
            paths += 1;
            if node.kind == EntryKind::File {
                bytes = bytes.saturating_add(node.size);
            }
            let (entry, parent) = (node.entry, node.parent);
            stack.extend(node.children.iter().copied());
            let status = if n == id { top } else { EntryStatus::Deleted { by_layer: layer } };
            self.set_status(entry, status);
            let node = &mut self.t.nodes[n as usize];
            node.alive = false;
            node.deleted_by = Some(layer);
            self.lookup.remove(&self.t, parent, n);
        }
        (paths, bytes)
    }

    /// Walk to the directory `dir`, creating missing directories (implicit, owned by
    /// `layer`) and replacing non-directories in the way.
    ///
    /// A symlink in the way (a layer writes `bin/tool` over a lower `bin -> usr/bin`) is
    /// where runtimes disagree: Docker's overlay2 driver and podman unpack each layer into
    /// a directory of its own, so `bin/` becomes a real directory that hides the symlink;
    /// containerd's snapshotters and umoci unpack onto the merged view and write through
    /// it, to `usr/bin/tool`. strata shows the first and says so in a warning.
    fn ensure_dir(&mut self, dir: &[u8], layer: u32) -> Option<NodeId> {
        let mut cur = ROOT;
        for c in components(dir) {
            cur = match self.child(cur, c) {
                Some(n) if self.t.nodes[n as usize].kind == EntryKind::Dir => n,
                Some(n) => {
                    if self.t.nodes[n as usize].kind == EntryKind::Symlink {
                        self.symlink_replaced_by_dir(n, layer);
                    }
                    self.kill(n, layer, EntryStatus::Overwritten { by_layer: layer });
                    self.create(cur, c, EntryKind::Dir, None, layer)?
                }
                None => self.create(cur, c, EntryKind::Dir, None, layer)?,
            };
        }
        Some(cur)
    }

    fn symlink_replaced_by_dir(&mut self, n: NodeId, layer: u32) {
        let path = self.t.path(n);
        let node = &self.t.nodes[n as usize];
        let target = node
            .entry
            .and_then(|r| self.layers.get(r.layer as usize)?.entries.get(r.index as usize))
            .and_then(|e| e.link.as_deref())
            .map(display_path)
            .unwrap_or_default();
        let message = Message::new(Code::SymlinkReplacedByDir).with("path", display_path(&path)).with("target", target);
        self.problem(layer, &path, Severity::Warning, message);
    }

    /// Resolve a hardlink target (normalised path) to (content entry, kind, size).
    fn link_target(&mut self, target: &[u8]) -> Option<(Option<EntryRef>, EntryKind, u64)> {
        if let Some(rest) = target.strip_prefix(b".wh..wh.plnk/".as_slice()) {
            let (_, base) = split_last(rest);
            let r = *self.aufs_links.get(base)?;
            let size = self.layers.get(r.layer as usize)?.entries.get(r.index as usize)?.size;
            return Some((Some(r), EntryKind::File, size));
        }
        let n = self.find(target)?;
        let node = &self.t.nodes[n as usize];
        match node.kind {
            EntryKind::File | EntryKind::Hardlink => Some((node.content, EntryKind::File, node.size)),
            EntryKind::Dir => None,
            k => Some((node.entry, k, 0)),
        }
    }

    fn apply_layer(&mut self, l: u32, layer: &LayerIndex) {
        // Pass 0: what each path was below this layer, for added/modified.
        let mut prior: Vec<Option<Prior>> = Vec::with_capacity(layer.entries.len());
        for e in &layer.entries {
            let p = self.find(&e.path).map(|n| {
                let node = &self.t.nodes[n as usize];
                Prior { kind: node.kind, entry: node.entry }
            });
            prior.push(p);
        }

        // Pass 1: opaque markers and whiteouts, against the layers below only.
        let mut deletions: Vec<(NodeId, u64, u64)> = Vec::new();
        // A directory made opaque once in this layer has nothing left below to hide: a
        // repeated marker must not walk its (dead) children again.
        let mut made_opaque: std::collections::HashSet<NodeId> = std::collections::HashSet::new();
        for (i, e) in layer.entries.iter().enumerate() {
            let r = EntryRef { layer: l, index: i as u32 };
            match classify(&e.path) {
                Class::Opaque { dir } => {
                    self.set_status(Some(r), EntryStatus::Opaque);
                    let dir_node = self.find(dir).filter(|&d| made_opaque.insert(d));
                    if let Some(d) = dir_node {
                        if self.t.nodes[d as usize].kind == EntryKind::Dir {
                            let kids: Vec<NodeId> = self.t.nodes[d as usize].children.clone();
                            for k in kids {
                                if self.t.nodes[k as usize].alive {
                                    let (paths, bytes) = self.kill(k, l, EntryStatus::Deleted { by_layer: l });
                                    deletions.push((k, paths, bytes));
                                }
                            }
                        }
                    }
                }
                Class::Whiteout { dir, name } => {
                    self.set_status(Some(r), EntryStatus::Whiteout);
                    let mut target = dir.to_vec();
                    if !target.is_empty() {
                        target.push(b'/');
                    }
                    target.extend_from_slice(name);
                    // A whiteout of a path that never existed is harmless: nothing to do.
                    if let Some(n) = self.find(&target) {
                        let (paths, bytes) = self.kill(n, l, EntryStatus::Deleted { by_layer: l });
                        deletions.push((n, paths, bytes));
                    }
                }
                _ => {}
            }
        }

        // Pass 2: everything else, in tar order.
        let mut pending_links: Vec<(usize, NodeId)> = Vec::new();
        for (i, e) in layer.entries.iter().enumerate() {
            let r = EntryRef { layer: l, index: i as u32 };
            if e.sparse.as_ref().is_some_and(|m| m.old_gnu) {
                // Shown as GNU tar unpacks it; the container runtimes refuse the layer.
                self.problem(l, &e.path, Severity::Error, Code::OldGnuSparse.into());
            }
            match classify(&e.path) {
                Class::Invalid(why) => {
                    self.set_status(Some(r), EntryStatus::Invalid);
                    self.problem(l, &e.path, Severity::Warning, why.into());
                }
                Class::AufsMeta => {
                    self.set_status(Some(r), EntryStatus::Hidden);
                    if e.kind == EntryKind::File && e.path.starts_with(b".wh..wh.plnk/") {
                        let (_, base) = split_last(&e.path);
                        self.aufs_links.insert(base.into(), r);
                    }
                }
                Class::Opaque { .. } | Class::Whiteout { .. } => {
                    // Applied in pass 1. A marker does not create its directory: umoci
                    // writes `r` (a file) then `r/.wh.sub` when a directory became a file,
                    // and umoci, Docker and containerd all leave `r` a file.
                }
                Class::Normal => {
                    if let Some(n) = self.place(l, i, e) {
                        if e.kind == EntryKind::Hardlink && self.t.nodes[n as usize].content.is_none() {
                            pending_links.push((i, n));
                        }
                    }
                }
            }
            if self.full {
                return;
            }
        }

        // Hardlinks whose target came later in the same tar: resolve against the layer's end state.
        for (i, n) in pending_links {
            let e = &layer.entries[i];
            let target = e.link.as_deref().unwrap_or(&[]).to_vec();
            match self.link_target(&target) {
                Some((content, _kind, size)) if self.t.nodes[n as usize].alive => {
                    let node = &mut self.t.nodes[n as usize];
                    node.content = content;
                    node.size = size;
                }
                _ => self.problem(
                    l,
                    &e.path,
                    Severity::Warning,
                    Message::new(Code::HardlinkTargetMissing).with("target", display_path(&target)),
                ),
            }
        }

        // Changes: entries still visible at the end of the layer, then deletions that
        // were not undone by a re-add in the same layer.
        let mut changes = Vec::new();
        for (i, e) in layer.entries.iter().enumerate() {
            if !matches!(classify(&e.path), Class::Normal) || !self.t.status[l as usize][i].is_visible() {
                continue;
            }
            let Some(n) = self.find(&e.path) else { continue };
            let kind = match prior[i] {
                None => ChangeKind::Added,
                Some(p) => {
                    if p.kind == EntryKind::Dir && e.kind == EntryKind::Dir && self.same_dir_attrs(p.entry, e) {
                        continue;
                    }
                    ChangeKind::Modified
                }
            };
            self.t.nodes[n as usize].change = Some((l, kind));
            changes.push(Change {
                node: n,
                path: display_path(&e.path),
                kind,
                entry: Some(i as u32),
                entry_kind: e.kind,
                bytes: if e.kind == EntryKind::File { e.size } else { 0 },
                paths: 1,
            });
        }
        for (n, paths, bytes) in deletions {
            let path = self.t.path(n);
            if self.find(&path).is_some() {
                continue; // re-added by this same layer: a modification, listed above
            }
            self.t.nodes[n as usize].top_deleted = true;
            changes.push(Change {
                node: n,
                path: display_path(&path),
                kind: ChangeKind::Deleted,
                entry: None,
                entry_kind: self.t.nodes[n as usize].kind,
                bytes,
                paths,
            });
        }
        self.t.changes[l as usize] = changes;
    }

    fn same_dir_attrs(&self, below: Option<EntryRef>, e: &LayerEntry) -> bool {
        match below.and_then(|r| self.layers.get(r.layer as usize)?.entries.get(r.index as usize)) {
            Some(b) => b.mode == e.mode && b.uid == e.uid && b.gid == e.gid,
            // An implicit directory below: declaring it is not a change worth listing.
            None => true,
        }
    }

    /// Put one normal entry into the tree. Returns its node.
    fn place(&mut self, l: u32, i: usize, e: &LayerEntry) -> Option<NodeId> {
        let r = EntryRef { layer: l, index: i as u32 };
        if e.path.is_empty() {
            // The root itself (`./`): only a directory makes sense there.
            if e.kind != EntryKind::Dir {
                self.set_status(Some(r), EntryStatus::Invalid);
                self.problem(l, &e.path, Severity::Warning, Code::RootNotDirectory.into());
                return None;
            }
            let old = self.t.nodes[ROOT as usize].entry;
            self.set_status(old, EntryStatus::Overwritten { by_layer: l });
            let root = &mut self.t.nodes[ROOT as usize];
            root.entry = Some(r);
            root.layer = l;
            return Some(ROOT);
        }

        // Resolve a hardlink before placing it, so a link over its own path sees the old file.
        let link = if e.kind == EntryKind::Hardlink {
            let target = e.link.as_deref().unwrap_or(&[]).to_vec();
            if target.is_empty() || components(&target).any(|c| c == b"..") {
                self.set_status(Some(r), EntryStatus::Invalid);
                self.problem(l, &e.path, Severity::Warning, Code::HardlinkBadTarget.into());
                return None;
            }
            let found = self.link_target(&target);
            if found.is_none() && self.find(&target).is_some() {
                self.set_status(Some(r), EntryStatus::Invalid);
                self.problem(l, &e.path, Severity::Warning, Code::HardlinkToDirectory.into());
                return None;
            }
            found
        } else {
            None
        };

        let (dir, name) = split_last(&e.path);
        let parent = self.ensure_dir(dir, l)?;
        let existing = self.child(parent, name);
        let node = match existing {
            Some(n) if e.kind == EntryKind::Dir && self.t.nodes[n as usize].kind == EntryKind::Dir => {
                // Directory over directory: merge, the new attributes win.
                let old = self.t.nodes[n as usize].entry;
                self.set_status(old, EntryStatus::Overwritten { by_layer: l });
                n
            }
            Some(n) if e.kind != EntryKind::Dir && self.t.nodes[n as usize].kind != EntryKind::Dir => {
                // Non-directory over non-directory: reuse the node.
                let old = self.t.nodes[n as usize].entry;
                self.set_status(old, EntryStatus::Overwritten { by_layer: l });
                n
            }
            Some(n) => {
                // File over directory (subtree goes) or directory over file.
                self.kill(n, l, EntryStatus::Overwritten { by_layer: l });
                self.create(parent, name, e.kind, Some(r), l)?
            }
            None => self.create(parent, name, e.kind, Some(r), l)?,
        };
        let nd = &mut self.t.nodes[node as usize];
        nd.kind = e.kind;
        nd.entry = Some(r);
        nd.layer = l;
        nd.content = None;
        nd.size = 0;
        match e.kind {
            EntryKind::File => {
                nd.content = Some(r);
                nd.size = e.size;
            }
            EntryKind::Hardlink => {
                if let Some((content, _kind, size)) = link {
                    nd.content = content;
                    nd.size = size;
                }
            }
            _ => {}
        }
        Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn ent(path: &str, kind: EntryKind, size: u64) -> LayerEntry {
        LayerEntry {
            path: crate::layer::normalize_path(path.as_bytes()),
            kind,
            size,
            mode: if kind == EntryKind::Dir { 0o755 } else { 0o644 },
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            data_offset: 0,
            content_hash: Some(size),
            dev_major: 0,
            dev_minor: 0,
            sparse: None,
        }
    }

    fn layer(entries: Vec<LayerEntry>) -> LayerIndex {
        LayerIndex { entries, uncompressed_size: 0 }
    }

    fn paths(t: &MergedTree) -> Vec<String> {
        t.walk(ROOT).into_iter().map(|n| display_path(&t.path(n))).collect()
    }

    #[test]
    fn whiteout_and_opaque_apply_to_lower_only() {
        let l0 = layer(vec![ent("a", EntryKind::Dir, 0), ent("a/x", EntryKind::File, 3), ent("b", EntryKind::File, 5)]);
        let l1 = layer(vec![
            ent("a/new", EntryKind::File, 1),
            ent("b", EntryKind::File, 2),
            ent(".wh.b", EntryKind::File, 0),
            ent("a/.wh..wh..opq", EntryKind::File, 0),
        ]);
        let t = MergedTree::build(&[&l0, &l1]);
        assert_eq!(paths(&t), vec!["a", "a/new", "b"]);
        assert_eq!(t.size(t.find(b"b").unwrap_or(0)), 2);
        assert_eq!(t.status(EntryRef { layer: 0, index: 1 }), Some(EntryStatus::Deleted { by_layer: 1 }));
        assert_eq!(t.status(EntryRef { layer: 0, index: 2 }), Some(EntryStatus::Deleted { by_layer: 1 }));
        let c = t.change_counts(1);
        assert_eq!((c.added, c.modified, c.deleted), (1, 1, 1));
        assert_eq!(t.cumulative_size(ROOT), 3);
    }
}
