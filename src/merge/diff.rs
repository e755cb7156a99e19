//! Differences between two images: files, config, history, shared layers.
//!
//! Works on two merged trees and their layer indexes only (content compared by the
//! xxh3 `content_hash` plus size), so it never re-reads blob bytes.

use super::tree::{MergedTree, NodeId, ROOT};
use crate::layer::{display_path, EntryKind, LayerIndex};
use crate::report::{short_id, HistoryEntry, Image, ImageConfig};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One side of a diff: an image's merged tree and the layers it was built from.
#[derive(Clone, Copy)]
pub struct TreeSide<'a> {
    pub tree: &'a MergedTree,
    pub layers: &'a [&'a LayerIndex],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileChangeKind {
    Added,
    Removed,
    Changed,
}

/// What is known of one path on one side.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileInfo {
    pub kind: EntryKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub link: Option<String>,
    /// xxh3-64 as hex, when the layer was verified.
    pub content_hash: Option<String>,
    pub layer: u32,
}

/// One path that differs.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    pub change: FileChangeKind,
    /// For `changed`: which of `kind`, `size`, `mode`, `owner`, `link`, `content` differ.
    pub fields: Vec<&'static str>,
    /// True when both sides look equal but a content hash is missing (layer not
    /// verified), so equal content could not be confirmed.
    pub content_unknown: bool,
    pub before: Option<FileInfo>,
    pub after: Option<FileInfo>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FileDiffSummary {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub added_bytes: u64,
    pub removed_bytes: u64,
}

fn info(side: TreeSide<'_>, n: NodeId) -> FileInfo {
    let t = side.tree;
    let entry = t.entry_ref(n).and_then(|r| t.entry(side.layers, r));
    let content = t.content_ref(n).and_then(|r| t.entry(side.layers, r));
    let kind = t.kind(n);
    FileInfo {
        // A hardlink is a file with a shared inode: compare it as what it shows.
        kind: match (kind, content) {
            (EntryKind::Hardlink, Some(c)) => c.kind,
            (k, _) => k,
        },
        size: t.size(n),
        mode: entry.map(|e| e.mode & 0o7777).unwrap_or(0o755),
        uid: entry.map(|e| e.uid).unwrap_or(0),
        gid: entry.map(|e| e.gid).unwrap_or(0),
        link: match kind {
            EntryKind::Symlink => entry.and_then(|e| e.link.as_deref()).map(display_path),
            _ => None,
        },
        content_hash: match kind {
            EntryKind::File | EntryKind::Hardlink => content.and_then(|c| c.content_hash).map(|h| format!("{h:016x}")),
            _ => None,
        },
        layer: t.layer_of(n),
    }
}

/// Every path that differs between `a` (before) and `b` (after), sorted by path.
pub fn diff_trees(a: TreeSide<'_>, b: TreeSide<'_>) -> (Vec<FileChange>, FileDiffSummary) {
    let mut out = Vec::new();
    let mut sum = FileDiffSummary::default();
    // Walk both trees in step, one directory pair at a time (children are sorted by name).
    let mut stack: Vec<(Option<NodeId>, Option<NodeId>)> = vec![(Some(ROOT), Some(ROOT))];
    while let Some((da, db)) = stack.pop() {
        let ca: Vec<NodeId> = da.map(|d| a.tree.children(d).collect()).unwrap_or_default();
        let cb: Vec<NodeId> = db.map(|d| b.tree.children(d).collect()).unwrap_or_default();
        let (mut i, mut j) = (0, 0);
        let mut pairs = Vec::new();
        while i < ca.len() || j < cb.len() {
            let na = ca.get(i).map(|&n| a.tree.name(n));
            let nb = cb.get(j).map(|&n| b.tree.name(n));
            let pair = match (na, nb) {
                (Some(x), Some(y)) if x == y => {
                    i += 1;
                    j += 1;
                    (Some(ca[i - 1]), Some(cb[j - 1]))
                }
                (Some(x), Some(y)) if x < y => {
                    i += 1;
                    (Some(ca[i - 1]), None)
                }
                (Some(_), None) => {
                    i += 1;
                    (Some(ca[i - 1]), None)
                }
                _ => {
                    j += 1;
                    (None, Some(cb[j - 1]))
                }
            };
            pairs.push(pair);
        }
        // Push in reverse so the output comes out sorted, depth first.
        let mut next = Vec::new();
        for (x, y) in pairs {
            let path = match (x, y) {
                (Some(n), _) => a.tree.path(n),
                (None, Some(n)) => b.tree.path(n),
                (None, None) => continue,
            };
            let ia = x.map(|n| info(a, n));
            let ib = y.map(|n| info(b, n));
            match (&ia, &ib) {
                (Some(fa), Some(fb)) => {
                    let (fields, unknown) = compare(fa, fb);
                    if !fields.is_empty() || unknown {
                        if !fields.is_empty() {
                            sum.changed += 1;
                        }
                        out.push(FileChange { path: display_path(&path), change: FileChangeKind::Changed, fields, content_unknown: unknown, before: ia.clone(), after: ib.clone() });
                    }
                }
                (Some(fa), None) => {
                    sum.removed += 1;
                    if fa.kind == EntryKind::File {
                        sum.removed_bytes = sum.removed_bytes.saturating_add(fa.size);
                    }
                    out.push(FileChange { path: display_path(&path), change: FileChangeKind::Removed, fields: Vec::new(), content_unknown: false, before: ia.clone(), after: None });
                }
                (None, Some(fb)) => {
                    sum.added += 1;
                    if fb.kind == EntryKind::File {
                        sum.added_bytes = sum.added_bytes.saturating_add(fb.size);
                    }
                    out.push(FileChange { path: display_path(&path), change: FileChangeKind::Added, fields: Vec::new(), content_unknown: false, before: None, after: ib.clone() });
                }
                (None, None) => {}
            }
            let dir_a = x.filter(|&n| a.tree.kind(n) == EntryKind::Dir);
            let dir_b = y.filter(|&n| b.tree.kind(n) == EntryKind::Dir);
            if dir_a.is_some() || dir_b.is_some() {
                next.push((dir_a, dir_b));
            }
        }
        // Depth-first order: directories are expanded after their siblings are listed,
        // then everything is sorted by path at the end anyway.
        stack.extend(next.into_iter().rev());
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    (out, sum)
}

fn compare(a: &FileInfo, b: &FileInfo) -> (Vec<&'static str>, bool) {
    let mut f = Vec::new();
    if a.kind != b.kind {
        f.push("kind");
    }
    if a.size != b.size {
        f.push("size");
    }
    if a.mode != b.mode {
        f.push("mode");
    }
    if a.uid != b.uid || a.gid != b.gid {
        f.push("owner");
    }
    if a.link != b.link {
        f.push("link");
    }
    let mut unknown = false;
    if a.kind == EntryKind::File && b.kind == EntryKind::File {
        match (&a.content_hash, &b.content_hash) {
            (Some(x), Some(y)) if x != y => f.push("content"),
            (Some(_), Some(_)) => {}
            // Unverified layer: a size difference already says "changed"; equal sizes
            // cannot be confirmed equal.
            _ if a.size != b.size => f.push("content"),
            _ => unknown = a.size > 0,
        }
    }
    let unknown = unknown && !f.contains(&"content");
    (f, unknown)
}

/// One changed config field.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigChange {
    /// `Env`, `Env.PATH`, `Cmd`, `Entrypoint`, `Labels.<key>`, `ExposedPorts`, `User`, ...
    pub field: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// Differences between two container configs.
pub fn diff_config(a: &ImageConfig, b: &ImageConfig) -> Vec<ConfigChange> {
    use serde_json::json;
    let mut out = Vec::new();
    let mut scalar = |field: &str, x: serde_json::Value, y: serde_json::Value| {
        if x != y {
            let none = |v: serde_json::Value| if v.is_null() { None } else { Some(v) };
            out.push(ConfigChange { field: field.to_string(), before: none(x), after: none(y) });
        }
    };
    // Env: compare by variable name, so one changed variable is one line.
    let env = |c: &ImageConfig| -> BTreeMap<String, String> {
        c.env
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv.clone(), String::new()),
            })
            .collect()
    };
    let (ea, eb) = (env(a), env(b));
    let keys: BTreeSet<&String> = ea.keys().chain(eb.keys()).collect();
    for k in keys {
        scalar(&format!("Env.{k}"), json!(ea.get(k)), json!(eb.get(k)));
    }
    scalar("Cmd", json!(a.cmd), json!(b.cmd));
    scalar("Entrypoint", json!(a.entrypoint), json!(b.entrypoint));
    scalar("WorkingDir", json!(a.working_dir), json!(b.working_dir));
    scalar("User", json!(a.user), json!(b.user));
    let set = |v: &Vec<String>| -> BTreeSet<String> { v.iter().cloned().collect() };
    scalar("ExposedPorts", json!(set(&a.exposed_ports)), json!(set(&b.exposed_ports)));
    scalar("Volumes", json!(set(&a.volumes)), json!(set(&b.volumes)));
    let lkeys: BTreeSet<&String> = a.labels.keys().chain(b.labels.keys()).collect();
    for k in lkeys {
        scalar(&format!("Labels.{k}"), json!(a.labels.get(k)), json!(b.labels.get(k)));
    }
    scalar("StopSignal", json!(a.stop_signal), json!(b.stop_signal));
    scalar("Healthcheck", json!(a.healthcheck), json!(b.healthcheck));
    out
}

/// One history step present on one side only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryChange {
    pub change: FileChangeKind,
    /// Index in the side's history it comes from.
    pub index: usize,
    pub created_by: String,
    pub empty_layer: bool,
}

/// History steps (by `created_by`) in one image and not the other, aligned by a longest
/// common subsequence, and the number of leading steps the two share.
pub fn diff_history(a: &[HistoryEntry], b: &[HistoryEntry]) -> (usize, Vec<HistoryChange>) {
    let key = |h: &HistoryEntry| h.created_by.clone().unwrap_or_default();
    let common_prefix = a.iter().zip(b).take_while(|(x, y)| key(x) == key(y)).count();
    // LCS table over what follows the shared prefix (histories are short: dozens of steps;
    // cap it so a hostile config cannot make it quadratic in memory).
    let (ra, rb) = (&a[common_prefix..], &b[common_prefix..]);
    let mut out = Vec::new();
    if ra.len().saturating_mul(rb.len()) > 4_000_000 {
        for (i, h) in ra.iter().enumerate() {
            out.push(HistoryChange { change: FileChangeKind::Removed, index: common_prefix + i, created_by: key(h), empty_layer: h.empty_layer });
        }
        for (i, h) in rb.iter().enumerate() {
            out.push(HistoryChange { change: FileChangeKind::Added, index: common_prefix + i, created_by: key(h), empty_layer: h.empty_layer });
        }
        return (common_prefix, out);
    }
    let (n, m) = (ra.len(), rb.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * (m + 1) + j] = if key(&ra[i]) == key(&rb[j]) {
                lcs[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                lcs[(i + 1) * (m + 1) + j].max(lcs[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && key(&ra[i]) == key(&rb[j]) {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i * (m + 1) + j + 1] >= lcs[(i + 1) * (m + 1) + j]) {
            out.push(HistoryChange { change: FileChangeKind::Added, index: common_prefix + j, created_by: key(&rb[j]), empty_layer: rb[j].empty_layer });
            j += 1;
        } else {
            out.push(HistoryChange { change: FileChangeKind::Removed, index: common_prefix + i, created_by: key(&ra[i]), empty_layer: ra[i].empty_layer });
            i += 1;
        }
    }
    (common_prefix, out)
}

/// A layer both images have (same diff_id).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SharedLayer {
    pub diff_id: String,
    pub index_a: usize,
    pub index_b: usize,
    pub size: Option<u64>,
}

/// The whole comparison of two images.
#[derive(Debug, Clone, Serialize)]
pub struct ImageDiff {
    pub a: String,
    pub b: String,
    pub same_image: bool,
    pub summary: FileDiffSummary,
    pub files: Vec<FileChange>,
    pub config: Vec<ConfigChange>,
    pub history_common_prefix: usize,
    pub history: Vec<HistoryChange>,
    pub shared_layers: Vec<SharedLayer>,
    /// Layers at the bottom of both stacks, in the same order (the shared base).
    pub shared_base_layers: usize,
}

fn name(i: &Image) -> String {
    i.repo_tags.first().cloned().unwrap_or_else(|| i.id.clone())
}

/// Compare image `ia` (with its merged tree) against `ib`.
pub fn diff_images(ia: &Image, a: TreeSide<'_>, ib: &Image, b: TreeSide<'_>) -> ImageDiff {
    let (files, summary) = diff_trees(a, b);
    let (history_common_prefix, history) = diff_history(&ia.history, &ib.history);
    let mut shared_layers = Vec::new();
    let mut used_b = vec![false; ib.layers.len()];
    for (i, la) in ia.layers.iter().enumerate() {
        let Some(d) = &la.diff_id else { continue };
        if let Some(j) = ib.layers.iter().enumerate().position(|(j, lb)| !used_b[j] && lb.diff_id.as_ref() == Some(d)) {
            used_b[j] = true;
            shared_layers.push(SharedLayer { diff_id: d.clone(), index_a: i, index_b: j, size: la.uncompressed_size });
        }
    }
    let shared_base_layers = ia
        .layers
        .iter()
        .zip(&ib.layers)
        .take_while(|(x, y)| x.diff_id.is_some() && x.diff_id == y.diff_id)
        .count();
    let (mut name_a, mut name_b) = (name(ia), name(ib));
    if name_a == name_b && ia.id != ib.id {
        // One tag, two images: two platforms of an index (or two archives). Tell them apart.
        let (pa, pb) = (ia.platform(), ib.platform());
        let (sa, sb) = if pa != pb { (pa, pb) } else { (short_id(&ia.id), short_id(&ib.id)) };
        name_a = format!("{name_a}@{sa}");
        name_b = format!("{name_b}@{sb}");
    }
    ImageDiff {
        a: name_a,
        b: name_b,
        same_image: !ia.id.is_empty() && ia.id == ib.id,
        summary,
        files,
        config: diff_config(&ia.config, &ib.config),
        history_common_prefix,
        history,
        shared_layers,
        shared_base_layers,
    }
}
