//! The union filesystem of an image, and everything built on it: per-layer changes,
//! wasted space, directory listings for the page, file reading with symlinks, export,
//! image diff and Dockerfile reconstruction.
//!
//! Everything here works from [`crate::layer::LayerIndex`] values (the entry index of
//! each layer) and never touches a file system, so it runs the same natively and in
//! wasm32. File bytes are read only by [`read`] and [`export`], through a
//! [`read::ContentSource`] (the archive implements it).
//!
//! ```ignore
//! let layers: Vec<&LayerIndex> = /* bottom layer first */;
//! let tree = MergedTree::build(&layers);
//! let listing = view::list_dir(&tree, &layers, b"usr/bin", &ListOptions::default())?;
//! let waste = waste::analyze(&tree, &layers);
//! ```

pub mod diff;
pub mod dockerfile;
pub mod export;
pub mod filter;
pub mod read;
pub mod source;
pub mod tree;
pub mod view;
pub mod waste;

pub use tree::{Change, ChangeCounts, ChangeKind, EntryRef, EntryStatus, MergeProblem, MergedTree, NodeId, ROOT};
pub use view::{list_dir, DirEntryView, ListOptions};
