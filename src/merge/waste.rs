//! Wasted space and image efficiency.
//!
//! **Definition** (the README copies this):
//!
//! - *Total file bytes*: the content bytes of every regular-file entry in every layer
//!   (tar headers, directories, symlinks and hardlinks weigh nothing).
//! - *Wasted bytes*: the content bytes of every regular-file entry that the finished image
//!   does not show, because a later entry overwrote it (in a later layer, or later in the
//!   same layer tar) or a whiteout, an opaque directory or a replaced parent directory
//!   deleted it. Each hidden copy is counted exactly once, at its own size; the copy the
//!   container sees is never counted, and a whiteout adds nothing by itself. (dive adds up
//!   *all* copies of a path, the visible one included, and counts a deleted file a second
//!   time at its whiteout: dive issue 684.) A copy that is still reachable through a
//!   hardlink made before it was overwritten is not wasted.
//! - *Efficiency* = 1 − wasted / total (1.0 for an image with no file bytes): the share
//!   of stored file bytes that the container can actually see.
//!
//! Both figures depend only on the layers' uncompressed tar contents, so the same image
//! gives the same numbers whether it came as a docker save, a Docker 25 OCI save, a
//! skopeo docker-archive or an oci-archive, compressed or not.

use super::tree::{EntryRef, EntryStatus, MergedTree};
use crate::layer::{display_path, EntryKind, LayerIndex};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Wasted space of one image.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WasteReport {
    pub total_file_bytes: u64,
    pub wasted_bytes: u64,
    /// `1 - wasted_bytes / total_file_bytes`.
    pub efficiency: f64,
    /// Paths that hold at least one wasted copy, most wasted bytes first.
    pub paths: Vec<WastedPath>,
    /// Per layer: file bytes that layer stored which the image does not show.
    pub per_layer: Vec<u64>,
}

/// One path with hidden copies.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WastedPath {
    pub path: String,
    /// Bytes of the hidden copies.
    pub wasted_bytes: u64,
    /// Every file copy of this path across the layers (hidden and visible).
    pub copies: Vec<WasteCopy>,
    /// Whether the path is present in the final image.
    pub present: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WasteCopy {
    pub layer: u32,
    pub size: u64,
    #[serde(flatten)]
    pub status: EntryStatus,
}

/// Compute the waste of the image `tree` was built from (`layers` as given to the build).
pub fn analyze(tree: &MergedTree, layers: &[&LayerIndex]) -> WasteReport {
    // File entries still visible through a hardlink, even though their own path changed.
    let mut linked: HashSet<EntryRef> = HashSet::new();
    for n in tree.walk(super::ROOT) {
        if tree.kind(n) == EntryKind::Hardlink {
            if let Some(c) = tree.content_ref(n) {
                linked.insert(c);
            }
        }
    }
    let mut total = 0u64;
    let mut wasted = 0u64;
    let mut per_layer = vec![0u64; layers.len()];
    // path → index into `paths`, only for paths with a hidden copy.
    let mut by_path: HashMap<&[u8], usize> = HashMap::new();
    let mut paths: Vec<WastedPath> = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        for (i, e) in layer.entries.iter().enumerate() {
            if e.kind != EntryKind::File {
                continue;
            }
            total = total.saturating_add(e.size);
            let r = EntryRef { layer: l as u32, index: i as u32 };
            let status = tree.status(r).unwrap_or(EntryStatus::Visible);
            let hidden = matches!(status, EntryStatus::Overwritten { .. } | EntryStatus::Deleted { .. }) && !linked.contains(&r);
            if !hidden {
                continue;
            }
            wasted = wasted.saturating_add(e.size);
            per_layer[l] = per_layer[l].saturating_add(e.size);
            let slot = *by_path.entry(&e.path).or_insert_with(|| {
                paths.push(WastedPath { path: display_path(&e.path), wasted_bytes: 0, copies: Vec::new(), present: false });
                paths.len() - 1
            });
            paths[slot].wasted_bytes = paths[slot].wasted_bytes.saturating_add(e.size);
        }
    }
    // Second pass: list every copy (hidden or visible) of the wasteful paths.
    for (l, layer) in layers.iter().enumerate() {
        for (i, e) in layer.entries.iter().enumerate() {
            if e.kind != EntryKind::File {
                continue;
            }
            if let Some(&slot) = by_path.get(&*e.path) {
                let status = tree.status(EntryRef { layer: l as u32, index: i as u32 }).unwrap_or(EntryStatus::Visible);
                paths[slot].copies.push(WasteCopy { layer: l as u32, size: e.size, status });
            }
        }
    }
    for p in paths.iter_mut() {
        p.present = tree.find(&crate::layer::parse_display_path(&p.path)).is_some();
    }
    paths.sort_by(|a, b| b.wasted_bytes.cmp(&a.wasted_bytes).then_with(|| a.path.cmp(&b.path)));
    let efficiency = if total == 0 { 1.0 } else { 1.0 - wasted as f64 / total as f64 };
    WasteReport { total_file_bytes: total, wasted_bytes: wasted, efficiency, paths, per_layer }
}
