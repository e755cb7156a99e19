//! Reading files of the merged tree: path resolution with symlinks, and a source of bytes.

use super::tree::{MergedTree, NodeId, ROOT};
use crate::layer::{display_path, EntryKind, LayerEntry, LayerIndex};
use crate::sparse::{SparseMap, SparseReader};
use crate::Error;
use std::io::{self, Read};

/// Symlinks followed while resolving one path before giving up (Linux's MAXSYMLINKS).
pub const MAX_SYMLINKS: usize = 40;

/// Something that can hand out the bytes of one layer entry (the archive does).
pub trait ContentSource {
    /// A reader over exactly the content of `entry` of layer `layer` (an index into the
    /// `layers` slice the tree was built from).
    fn open_entry(&mut self, layer: usize, entry: &LayerEntry) -> Result<Box<dyn Read + '_>, Error>;

    /// As [`ContentSource::open_entry`], from byte `from` of the content on (the end when
    /// `from` is past it). By default the bytes before it are read and dropped; a source
    /// that can seek, or restart a decoder nearer, does better (a range deep in a 4 GB file).
    fn open_entry_from(&mut self, layer: usize, entry: &LayerEntry, from: u64) -> Result<Box<dyn Read + '_>, Error> {
        let mut reader = self.open_entry(layer, entry)?;
        io::copy(&mut (&mut reader).take(from), &mut io::sink())?;
        Ok(reader)
    }
}

/// A sparse file's logical bytes from `from` on (holes read as zeros, streamed: nothing
/// the size of the file is held), read from its packed fragments through `src`. A
/// [`ContentSource`] hands a sparse entry out through this.
pub fn open_sparse<'r, S: ContentSource + ?Sized>(
    src: &'r mut S,
    layer: usize,
    entry: &LayerEntry,
    map: &SparseMap,
    from: u64,
) -> Result<Box<dyn Read + 'r>, Error> {
    let from = from.min(entry.size);
    let packed = LayerEntry { size: map.stored_len(), sparse: None, ..entry.clone() };
    let reader = src.open_entry_from(layer, &packed, map.stored_offset(from))?;
    Ok(Box::new(SparseReader::new(reader, map, entry.size, from)))
}

/// Resolve `path` (absolute or relative to `/`) in the merged tree, following symlinks
/// in every component, and in the last one too when `follow_last`. `..` stops at `/`,
/// as in a container. At most [`MAX_SYMLINKS`] symlinks are followed.
pub fn resolve(tree: &MergedTree, layers: &[&LayerIndex], path: &[u8], follow_last: bool) -> Result<NodeId, Error> {
    // Work list of components still to walk, in reverse (pop from the end).
    let mut todo: Vec<Vec<u8>> = split_rev(path);
    let mut cur = ROOT;
    let mut hops = 0usize;
    // The last symlink followed: a component of its target that is not there is reported
    // with where the link points (and whether its `..` tried to climb above `/`).
    let mut last_link: Option<FollowedLink> = None;
    while let Some(c) = todo.pop() {
        if c.as_slice() == b"." {
            continue;
        }
        if c.as_slice() == b".." {
            if let Some(link) = last_link.as_mut().filter(|l| todo.len() >= l.rest) {
                link.climbed_above_root |= cur == ROOT;
            }
            cur = tree.node(cur).map(|n| n.parent).unwrap_or(ROOT);
            continue;
        }
        if tree.kind(cur) != EntryKind::Dir {
            return Err(Error::NotFound { what: format!("{}: a path component is not a directory", shown(path)) });
        }
        let Some(next) = tree.child(cur, &c) else {
            let what = match last_link.as_ref().filter(|l| todo.len() >= l.rest) {
                Some(link) => format!(
                    "path {}: the symbolic link /{} points to {}, {}",
                    shown(path),
                    display_path(&tree.path(link.node)),
                    display_path(&link.target),
                    if link.climbed_above_root {
                        "which leaves the image (its `..` climbs above /; in a container it stops at /) and is not in the image"
                    } else {
                        "which is not in the image"
                    }
                ),
                None => format!("path {}", shown(path)),
            };
            return Err(Error::NotFound { what });
        };
        let is_last = todo.is_empty();
        if let Some(target) = symlink_target(tree, layers, next).filter(|_| !is_last || follow_last) {
            last_link = Some(FollowedLink { node: next, target: target.to_vec(), rest: todo.len(), climbed_above_root: false });
            hops += 1;
            if hops > MAX_SYMLINKS {
                return Err(Error::NotFound {
                    what: format!("{}: more than {MAX_SYMLINKS} symlinks (a loop?)", shown(path)),
                });
            }
            let target = target.to_vec();
            if target.first() == Some(&b'/') {
                cur = ROOT;
            }
            // The target's components come before what is left of the path.
            todo.extend(split_rev(&target));
            continue;
        }
        cur = next;
    }
    Ok(cur)
}

/// A symlink [`resolve`] followed. While more than `rest` components are left to walk, the
/// walk is inside its target.
struct FollowedLink {
    node: NodeId,
    target: Vec<u8>,
    rest: usize,
    climbed_above_root: bool,
}

/// Where a symlink points: a symlink's own target, or, for a hardlink to a symlink, the
/// symlink's (on Linux `link()` links the symlink itself, so the link *is* that symlink).
fn symlink_target<'a>(tree: &MergedTree, layers: &[&'a LayerIndex], n: NodeId) -> Option<&'a [u8]> {
    let r = match tree.kind(n) {
        EntryKind::Symlink => tree.entry_ref(n)?,
        EntryKind::Hardlink => tree.content_ref(n)?,
        _ => return None,
    };
    let e = tree.entry(layers, r)?;
    if e.kind != EntryKind::Symlink {
        return None;
    }
    Some(e.link.as_deref().unwrap_or(&[]))
}

/// A requested path as shown in messages: `/` plus the normalised path.
fn shown(path: &[u8]) -> String {
    format!("/{}", display_path(&crate::layer::normalize_path(path)))
}

fn split_rev(path: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).map(|c| c.to_vec()).collect();
    v.reverse();
    v
}

/// The file a path shows, after symlinks: (layer, entry) whose bytes to read.
pub fn file_content<'a>(tree: &MergedTree, layers: &[&'a LayerIndex], path: &[u8]) -> Result<(usize, &'a LayerEntry), Error> {
    let n = resolve(tree, layers, path, true)?;
    match tree.kind(n) {
        EntryKind::File | EntryKind::Hardlink => {}
        k => return Err(Error::NotFound { what: format!("{} is {}, not a file", shown(path), kind_in_words(k)) }),
    }
    let r = tree
        .content_ref(n)
        .ok_or_else(|| Error::NotFound { what: format!("content of {} (broken hardlink)", shown(path)) })?;
    let e = tree.entry(layers, r).ok_or_else(|| Error::NotFound { what: format!("entry of {}", shown(path)) })?;
    if e.kind != EntryKind::File {
        return Err(Error::NotFound { what: format!("{} is a hard link to {}, not a file", shown(path), kind_in_words(e.kind)) });
    }
    Ok((r.layer as usize, e))
}

/// An entry kind as a message says it ("/dev/null is a character device").
pub fn kind_in_words(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "a regular file",
        EntryKind::Dir => "a directory",
        EntryKind::Symlink => "a symbolic link",
        EntryKind::Hardlink => "a hard link",
        EntryKind::Char => "a character device",
        EntryKind::Block => "a block device",
        EntryKind::Fifo => "a named pipe (FIFO)",
        EntryKind::Other => "a special file (a tar entry type strata does not read)",
    }
}

/// Open a file of the merged tree for reading (symlinks followed).
pub fn open_file<'s>(tree: &MergedTree, layers: &[&LayerIndex], src: &'s mut dyn ContentSource, path: &[u8]) -> Result<(u64, Box<dyn Read + 's>), Error> {
    open_file_from(tree, layers, src, path, 0)
}

/// As [`open_file`], reading from byte `from` of the file on; the size is the whole file's.
pub fn open_file_from<'s>(
    tree: &MergedTree,
    layers: &[&LayerIndex],
    src: &'s mut dyn ContentSource,
    path: &[u8],
    from: u64,
) -> Result<(u64, Box<dyn Read + 's>), Error> {
    let (layer, e) = file_content(tree, layers, path)?;
    let size = e.size;
    Ok((size, src.open_entry_from(layer, e, from)?))
}

/// The file `path` as layer `layer` wrote it. `tree` must be built from
/// `layers[..=layer]`; symlinks in the path are resolved as of that layer. Errors when
/// that layer did not write the path.
pub fn layer_file<'a>(tree: &MergedTree, layers: &[&'a LayerIndex], layer: usize, path: &[u8]) -> Result<(usize, &'a LayerEntry), Error> {
    // The node at the path itself (last component not followed) must come from `layer`.
    let n = resolve(tree, layers, path, false)?;
    if tree.layer_of(n) as usize != layer || tree.entry_ref(n).is_none() {
        return Err(Error::NotFound {
            what: format!("{} in layer {layer} (it was last written by layer {})", shown(path), tree.layer_of(n)),
        });
    }
    file_content(tree, layers, path)
}
