//! Filesystem commands: `ls`, `cat`, `export`, `diff`, `waste`, `dockerfile`.
//!
//! All of them work on an image's merged tree (strata::merge); `--json` prints the core's
//! serde values as they are.

use crate::escape::escape;
use crate::output::{self, print_text, stdout_write_result, warn};
use clap::Subcommand;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use strata::io::SeekBufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::layer::{display_path, parse_display_path, EntryKind};
use strata::merge::diff::{diff_images, TreeSide};
use strata::merge::filter::PathFilter;
use strata::merge::read::{file_content, kind_in_words, layer_file, resolve, ContentSource};
use strata::merge::source::{image_layers, ArchiveSource};
use strata::merge::view::{list_dir, mode_string, walk_rows, DirEntryView, ListOptions, SortOrder};
use strata::merge::{dockerfile, export, waste, MergedTree};
use strata::report::Image;
use strata::Archive;

#[derive(Subcommand)]
pub enum FsCommand {
    /// List a directory of an image's merged filesystem (or of the tree as of one layer).
    Ls {
        archive: PathBuf,
        /// Directory to list (default `/`). Symlinks are not followed.
        path: Option<String>,
        /// Image by tag, ID prefix or index (default: the first image).
        #[arg(long)]
        image: Option<String>,
        /// Show the tree as of this layer (0 = bottom), with its changes marked.
        #[arg(long)]
        layer: Option<usize>,
        /// Mode, owner, size, layer and link target.
        #[arg(short, long)]
        long: bool,
        /// Recurse into subdirectories.
        #[arg(short = 'R', long)]
        recursive: bool,
        /// `name` (default) or `size` (largest first; directories by cumulative size).
        #[arg(long, default_value = "name")]
        sort: String,
        /// Only paths the layer changed (with --layer; without it, the top layer).
        #[arg(long)]
        changes: bool,
        /// Keep paths containing this text, or matching this glob (`*`, `?`, `**`).
        #[arg(long)]
        filter: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a file of the merged filesystem (symlinks followed).
    Cat {
        archive: PathBuf,
        path: String,
        #[arg(long)]
        image: Option<String>,
        /// Read the file as this layer wrote it.
        #[arg(long)]
        layer: Option<usize>,
        /// Print {path, layer, size, text} instead of the raw bytes.
        #[arg(long)]
        json: bool,
    },
    /// Write the merged root filesystem as a tar (like `docker export`), or one layer's raw tar.
    Export {
        archive: PathBuf,
        /// Output file (`-` for standard output).
        #[arg(short, long)]
        out: PathBuf,
        #[arg(long)]
        image: Option<String>,
        /// Write this layer's uncompressed tar as stored instead.
        #[arg(long)]
        layer: Option<usize>,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare two images: files, config, history, shared layers. A and B are `ARCHIVE` or `ARCHIVE@IMAGE`.
    Diff {
        a: String,
        b: String,
        #[arg(long)]
        json: bool,
    },
    /// Wasted space: file bytes stored in layers but overwritten or deleted by later ones.
    Waste {
        archive: PathBuf,
        #[arg(long)]
        image: Option<String>,
        /// Show this many paths (0 = all).
        #[arg(long, default_value_t = 20)]
        top: usize,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild an approximate Dockerfile from the image history.
    Dockerfile {
        archive: PathBuf,
        #[arg(long)]
        image: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: FsCommand) -> Result<ExitCode, String> {
    match cmd {
        FsCommand::Ls { archive, path, image, layer, long, recursive, sort, changes, filter, json } => {
            let sort = match sort.as_str() {
                "name" => SortOrder::Name,
                "size" => SortOrder::Size,
                other => return Err(format!("unknown sort {other:?} (use name or size)")),
            };
            ls(&archive, path.as_deref().unwrap_or("/"), image.as_deref(), layer, long, recursive, sort, changes, filter.as_deref(), json)
        }
        FsCommand::Cat { archive, path, image, layer, json } => cat(&archive, &path, image.as_deref(), layer, json),
        FsCommand::Export { archive, out, image, layer, json } => export_cmd(&archive, &out, image.as_deref(), layer, json),
        FsCommand::Diff { a, b, json } => diff(&a, &b, json),
        FsCommand::Waste { archive, image, top, json } => waste_cmd(&archive, image.as_deref(), top, json),
        FsCommand::Dockerfile { archive, image, json } => dockerfile_cmd(&archive, image.as_deref(), json),
    }
}

/// Open an archive with every layer indexed: a headers-only index for plain layers,
/// full verification only when some layer is compressed (or content hashes are needed).
fn open_indexed(path: &Path, need_hashes: bool) -> Result<(Archive, SeekBufReader<File>), String> {
    if need_hashes {
        let opened = crate::open_verified(path)?;
        crate::require_images(opened.0.report(), path)?;
        return Ok(opened);
    }
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut src = SeekBufReader::new(file);
    let mut archive = Archive::open(&mut src, &mut |_| {}).map_err(|e| format!("{}: {e}", path.display()))?;
    crate::require_images(archive.report(), path)?;
    archive.index_layers(&mut src, &mut |_| {}).map_err(|e| format!("{}: {e}", path.display()))?;
    let unindexed = archive
        .report()
        .images
        .iter()
        .flat_map(|i| i.layers.iter())
        .any(|l| l.blob.is_some_and(|b| archive.layer_index(b).is_none()));
    if unindexed {
        archive.verify(&mut src, &mut |_| {}).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok((archive, src))
}

/// The image's layers and a tree of `layers[..=upto]` (all layers when None).
fn merged<'a>(archive: &'a Archive, img: &Image, upto: Option<usize>) -> Result<(strata::merge::source::ImageLayers<'a>, MergedTree), String> {
    let layers = image_layers(archive, img);
    if !layers.missing.is_empty() {
        warn(&format!("warning: layer(s) {:?} of this image are not in the archive; the tree is incomplete", layers.missing));
    }
    let n = match upto {
        Some(l) if l >= layers.indexes.len() => {
            return Err(format!("no layer {l} (the image has {} layers, 0 to {})", layers.indexes.len(), layers.indexes.len().saturating_sub(1)))
        }
        Some(l) => l + 1,
        None => layers.indexes.len(),
    };
    let tree = MergedTree::build(&layers.indexes[..n]);
    for p in tree.problems() {
        warn(&format!("layer {}: {}: {}", p.layer, p.path, p.message));
    }
    Ok((layers, tree))
}

fn norm(path: &str) -> Vec<u8> {
    strata::layer::normalize_path(&parse_display_path(path)).into_vec()
}

#[allow(clippy::too_many_arguments)]
fn ls(
    archive_path: &Path,
    path: &str,
    image: Option<&str>,
    layer: Option<usize>,
    long: bool,
    recursive: bool,
    sort: SortOrder,
    only_changes: bool,
    filter: Option<&str>,
    json: bool,
) -> Result<ExitCode, String> {
    let (archive, _src) = open_indexed(archive_path, false)?;
    let img = output::pick_image(archive.report(), image)?;
    let (layers, full) = merged(&archive, img, None)?;
    // `--changes` without `--layer` means the top layer's changes.
    let view_layer = layer.or(if only_changes { layers.indexes.len().checked_sub(1) } else { None });
    let tree_for_layer;
    let (tree, full_tree) = match view_layer {
        Some(l) if l + 1 < layers.indexes.len() => {
            tree_for_layer = merged(&archive, img, Some(l))?.1;
            (&tree_for_layer, Some(&full))
        }
        Some(l) if l >= layers.indexes.len() => return Err(format!("no layer {l} (the image has {} layers)", layers.indexes.len())),
        _ => (&full, None),
    };
    let opts = ListOptions {
        changes_of_layer: view_layer.map(|l| l as u32),
        full_tree,
        filter: filter.map(PathFilter::parse),
        only_changes,
        sort,
    };
    let p = norm(path);
    // Listing a non-directory: say what it is in words (the core's message names the type).
    if let Some(n) = tree.find(&p) {
        if tree.kind(n) != EntryKind::Dir {
            return Err(format!("cannot list /{}: it is {}, not a directory, in {}", display_path(&p), kind_in_words(tree.kind(n)), image_name(img)));
        }
    }
    if recursive {
        // Printed as walked (sorted by size: as kept without their paths, see
        // `SizeSortedWalk`): the rows of a deep tree, each with its full path, would add up
        // to the square of its depth if they were all kept first (a 32 000-deep tree: 1 GB).
        let mut out = WatchedWriter::new(BufWriter::new(std::io::stdout().lock()));
        let mut json_rows = json.then(JsonArray::default);
        let mut print = |r: &DirEntryView| match json_rows.as_mut() {
            Some(array) => array.item(&mut out, r).is_ok(),
            None => writeln!(out, "{}", ls_line(r, &r.path, long, view_layer.is_some())).is_ok(),
        };
        let walked = if sort == SortOrder::Name {
            walk_rows(tree, &layers.indexes, &p, &opts, &mut |r| print(&r)) // a closed pipe (`| head`) stops the walk
        } else {
            SizeSortedWalk::walk(tree, &layers.indexes, &p, &opts).map(|w| w.print_in_order(&mut print))
        };
        walked.map_err(|e| format!("{e} in {}", image_name(img)))?;
        let written = match json_rows {
            Some(array) => array.finish(&mut out),
            None => Ok(()),
        };
        let written = written.and_then(|()| out.flush());
        finish_output(written, &out, "standard output", "the listing")?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows = list_dir(tree, &layers.indexes, &p, &opts).map_err(|e| format!("{e} in {}", image_name(img)))?;
    if json {
        output::print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = WatchedWriter::new(BufWriter::new(std::io::stdout().lock()));
    let written = rows.iter().try_for_each(|r| writeln!(out, "{}", ls_line(r, &r.name, long, view_layer.is_some()))).and_then(|()| out.flush());
    finish_output(written, &out, "standard output", "the listing")?;
    Ok(ExitCode::SUCCESS)
}

/// A JSON array written item by item, as `print_json` prints a whole `Vec` (pretty, two
/// spaces a level), so a listing need not be held to be printed.
#[derive(Default)]
struct JsonArray {
    items: u64,
}

impl JsonArray {
    fn item(&mut self, out: &mut dyn Write, value: &impl serde::Serialize) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        out.write_all(if self.items == 0 { b"[\n" } else { b",\n" })?;
        for (i, line) in text.lines().enumerate() {
            // JSON strings hold no raw line feed: every line of `text` is one of its own.
            if i > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(b"  ")?;
            out.write_all(line.as_bytes())?;
        }
        self.items += 1;
        Ok(())
    }

    fn finish(self, out: &mut dyn Write) -> std::io::Result<()> {
        out.write_all(if self.items == 0 { b"[]\n" } else { b"\n]\n" })
    }
}

/// `ls -R --sort size`: every row of the walk kept *without* its path (a node knows its
/// parent and its name), sorted, and each path rebuilt only while its row is printed. The
/// order is `list_recursive`'s: largest first (directories by cumulative size), then by
/// path as a string.
struct SizeSortedWalk {
    nodes: Vec<WalkedNode>,
    /// The listed directory's path (display form, no leading `/`; empty for the root).
    base: String,
    /// Nodes whose row is listed (the filter and `--changes` kept them).
    listed: Vec<u32>,
}

struct WalkedNode {
    /// The parent's index in `nodes`; None for a child of the listed directory.
    parent: Option<u32>,
    name: String,
    /// The row with an empty `path`, when it is listed (a directory the filter left out is
    /// kept only as a name on the way to the rows below it).
    row: Option<DirEntryView>,
}

impl SizeSortedWalk {
    fn walk(tree: &MergedTree, layers: &[&strata::layer::LayerIndex], dir: &[u8], opts: &ListOptions<'_>) -> Result<SizeSortedWalk, strata::Error> {
        // Every node is walked (a row left out by the filter may be the parent of one kept),
        // and the filter and `--changes` applied here, as `walk_rows` applies them.
        let every = ListOptions { filter: None, only_changes: false, ..opts.clone() };
        let base = display_path(dir);
        let mut nodes: Vec<WalkedNode> = Vec::new();
        let mut listed = Vec::new();
        // The nodes on the way down to the current one: (index, length of its path).
        let mut ancestors: Vec<(u32, usize)> = Vec::new();
        walk_rows(tree, layers, dir, &every, &mut |mut r| {
            let parent_len = r.path.len().saturating_sub(r.name.len() + 1);
            while ancestors.last().is_some_and(|&(_, len)| len > parent_len) {
                ancestors.pop();
            }
            let parent = ancestors.last().filter(|&&(_, len)| len == parent_len && r.path.len() > r.name.len()).map(|&(i, _)| i);
            let wanted = opts.filter.as_ref().is_none_or(|f| f.matches(&parse_display_path(&r.path))) && (!opts.only_changes || r.change.is_some());
            if !wanted && r.kind != EntryKind::Dir {
                return true; // neither listed nor anyone's parent
            }
            let index = nodes.len() as u32;
            ancestors.push((index, r.path.len()));
            r.path = String::new();
            let node = if wanted {
                listed.push(index);
                WalkedNode { parent, name: r.name.clone(), row: Some(r) }
            } else {
                WalkedNode { parent, name: std::mem::take(&mut r.name), row: None }
            };
            nodes.push(node);
            true
        })?;
        let mut walk = SizeSortedWalk { nodes, base, listed };
        let rank = walk.path_order();
        let size = |i: u32| walk.nodes[i as usize].row.as_ref().map_or(0, |r| r.cumulative_size.unwrap_or(r.size));
        let mut listed = std::mem::take(&mut walk.listed);
        listed.sort_by(|&a, &b| size(b).cmp(&size(a)).then_with(|| rank[a as usize].cmp(&rank[b as usize])));
        walk.listed = listed;
        Ok(walk)
    }

    /// Each node's place in the order of the paths as strings, without building them: the
    /// paths below a directory `d` all start with `d/`, so they sort as one block placed by
    /// the key `name/`, among the siblings themselves placed by `name` (no name holds a `/`).
    fn path_order(&self) -> Vec<u32> {
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); self.nodes.len()];
        let mut top = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            match n.parent {
                Some(p) => children[p as usize].push(i as u32),
                None => top.push(i as u32),
            }
        }
        enum Item {
            Node(u32),
            Below(u32),
        }
        let sorted_items = |kids: &[u32]| -> Vec<Item> {
            let mut items: Vec<(String, Item)> = Vec::new();
            for &k in kids {
                let name = &self.nodes[k as usize].name;
                items.push((name.clone(), Item::Node(k)));
                if !children[k as usize].is_empty() {
                    items.push((format!("{name}/"), Item::Below(k)));
                }
            }
            items.sort_by(|a, b| a.0.cmp(&b.0));
            items.into_iter().map(|(_, item)| item).collect()
        };
        let mut rank = vec![0u32; self.nodes.len()];
        let mut next = 0u32;
        let mut stack: Vec<Item> = sorted_items(&top).into_iter().rev().collect();
        while let Some(item) = stack.pop() {
            match item {
                Item::Node(n) => {
                    rank[n as usize] = next;
                    next += 1;
                }
                Item::Below(d) => stack.extend(sorted_items(&children[d as usize]).into_iter().rev()),
            }
        }
        rank
    }

    /// Hand each listed row, its path rebuilt, to `print` until it returns false.
    fn print_in_order(mut self, print: &mut dyn FnMut(&DirEntryView) -> bool) {
        let listed = std::mem::take(&mut self.listed);
        let mut names: Vec<u32> = Vec::new();
        for i in listed {
            names.clear();
            let mut at = Some(i);
            while let Some(n) = at {
                names.push(n);
                at = self.nodes[n as usize].parent;
            }
            let mut path = self.base.clone();
            for &n in names.iter().rev() {
                if !path.is_empty() {
                    path.push('/');
                }
                path.push_str(&self.nodes[n as usize].name);
            }
            let Some(row) = self.nodes[i as usize].row.as_mut() else { continue };
            row.path = path;
            let go_on = print(row);
            row.path = String::new();
            if !go_on {
                return;
            }
        }
    }
}

/// One line of `ls`: the name (`dir/` for directories), or with `long` the `ls -l` row.
/// Names and link targets are archive text: escaped, so a name holding a line feed cannot
/// forge a row, nor an ESC drive the terminal.
fn ls_line(r: &DirEntryView, shown: &str, long: bool, marks: bool) -> String {
    if long {
        long_row(r, &escape(shown), marks)
    } else {
        format!("{}{}", escape(shown), if r.kind == EntryKind::Dir { "/" } else { "" })
    }
}

fn long_row(r: &DirEntryView, shown: &str, marks: bool) -> String {
    let size = r.cumulative_size.unwrap_or(r.size);
    let mut s = String::new();
    if marks {
        s.push_str(match r.change {
            Some(strata::merge::ChangeKind::Added) => "A ",
            Some(strata::merge::ChangeKind::Modified) => "M ",
            Some(strata::merge::ChangeKind::Deleted) => "D ",
            None => "  ",
        });
    }
    s.push_str(&format!("{} {:>5}/{:<5} {:>10} L{:<3} {}", mode_string(r.kind, r.mode), r.uid, r.gid, output::human_size(size), r.layer, shown));
    if r.kind == EntryKind::Dir {
        s.push('/');
    }
    match (r.kind, &r.link) {
        (EntryKind::Symlink, Some(l)) => s.push_str(&format!(" -> {}", escape(l))),
        (EntryKind::Hardlink, Some(l)) => s.push_str(&format!(" link to {}", escape(l))),
        _ => {}
    }
    if let Some((ma, mi)) = r.device {
        s.push_str(&format!(" [{ma},{mi}]"));
    }
    if let Some(sh) = r.shadow {
        match sh {
            strata::merge::EntryStatus::Overwritten { by_layer } if marks => s.push_str(&format!("  (overwritten by layer {by_layer})")),
            strata::merge::EntryStatus::Deleted { by_layer } if marks => s.push_str(&format!("  (deleted by layer {by_layer})")),
            _ => {}
        }
    }
    s
}

fn image_name(img: &Image) -> String {
    img.repo_tags.first().cloned().unwrap_or_else(|| output::short_id(&img.id))
}

fn cat(archive_path: &Path, path: &str, image: Option<&str>, layer: Option<usize>, json: bool) -> Result<ExitCode, String> {
    let (archive, mut src) = open_indexed(archive_path, false)?;
    let img = output::pick_image(archive.report(), image)?;
    let (layers, tree) = merged(&archive, img, layer)?;
    let p = parse_display_path(path);
    // `cat /usr/bin/app/`: a trailing slash names a directory, as in a shell.
    if path.trim_end_matches('/').len() < path.len() && !path.trim_end_matches('/').is_empty() {
        if let Ok(n) = resolve(&tree, &layers.indexes, &p, true) {
            if tree.kind(n) != EntryKind::Dir {
                return Err(format!("cannot read {path}: not a directory (it is {}; a trailing / names a directory) in {}", kind_in_words(tree.kind(n)), image_name(img)));
            }
        }
    }
    let (l, entry) = match layer {
        Some(n) => layer_file(&tree, &layers.indexes, n, &p),
        None => file_content(&tree, &layers.indexes, &p),
    }
    .map_err(|e| format!("{e} in {}", image_name(img)))?;
    let mut source = ArchiveSource::new(&archive, &mut src, layers.blobs.clone());
    if json {
        let shown = display_path(&norm(path));
        cat_json(&mut source, l, entry, &shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut reader = source.open_entry(l, entry).map_err(|e| e.to_string())?;
    let mut out = WatchedWriter::new(std::io::stdout().lock());
    let copied = std::io::copy(&mut reader, &mut out).map(|_| ()).and_then(|()| out.flush());
    finish_output(copied, &out, "standard output", path)?;
    Ok(ExitCode::SUCCESS)
}

/// `cat --json`: `{path, layer, size, text}` as `print_json` would print it, with the text
/// written piece by piece as the file is read, so a 10 GB file costs buffers, not 10 GB.
/// `text` is null when the content is not UTF-8, which is only known at its end: a first
/// pass reads the file to check, the second writes it.
fn cat_json(source: &mut ArchiveSource<'_, '_>, layer: usize, entry: &strata::layer::LayerEntry, shown: &str) -> Result<(), String> {
    let read_error = |e: std::io::Error| format!("cannot read {shown}: {e}");
    let is_utf8 = {
        let mut reader = source.open_entry(layer, entry).map_err(|e| e.to_string())?;
        let mut check = Utf8Check::default();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader.read(&mut buf).map_err(read_error)?;
            if n == 0 || !check.feed(&buf[..n]) {
                break;
            }
        }
        check.is_complete()
    };
    let mut out = WatchedWriter::new(BufWriter::new(std::io::stdout().lock()));
    let head = format!(
        "{{\n  \"path\": {},\n  \"layer\": {layer},\n  \"size\": {},\n  \"text\": ",
        serde_json::to_string(shown).map_err(|e| e.to_string())?,
        entry.size
    );
    let mut written = out.write_all(head.as_bytes());
    if written.is_ok() {
        written = if is_utf8 { stream_json_string(source, layer, entry, &mut out) } else { out.write_all(b"null") };
    }
    let written = written.and_then(|()| out.write_all(b"\n}\n")).and_then(|()| out.flush());
    finish_output(written, &out, "standard output", shown)
}

/// The content of a file already checked to be UTF-8, as a JSON string literal.
fn stream_json_string(source: &mut ArchiveSource<'_, '_>, layer: usize, entry: &strata::layer::LayerEntry, out: &mut dyn Write) -> std::io::Result<()> {
    let mut reader = source.open_entry(layer, entry).map_err(std::io::Error::other)?;
    out.write_all(b"\"")?;
    let mut buf = vec![0u8; 1 << 16];
    // The bytes of a character cut by the end of a read wait for the next one.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        carry.extend_from_slice(&buf[..n]);
        let valid = match std::str::from_utf8(&carry) {
            Ok(_) => carry.len(),
            Err(e) => e.valid_up_to(),
        };
        let text = std::str::from_utf8(&carry[..valid]).unwrap_or_default();
        let quoted = serde_json::to_string(text).map_err(std::io::Error::other)?;
        out.write_all(&quoted.as_bytes()[1..quoted.len() - 1])?;
        carry.drain(..valid);
    }
    out.write_all(b"\"")
}

/// Whether a stream of bytes is UTF-8, fed piece by piece.
#[derive(Default)]
struct Utf8Check {
    carry: Vec<u8>,
    bad: bool,
}

impl Utf8Check {
    /// Take the next bytes; false once the stream is known not to be UTF-8.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        self.carry.extend_from_slice(bytes);
        match std::str::from_utf8(&self.carry) {
            Ok(_) => self.carry.clear(),
            Err(e) if e.error_len().is_some() => self.bad = true,
            // Cut in the middle of a character: keep its first bytes for the next piece.
            Err(e) => {
                self.carry.drain(..e.valid_up_to());
            }
        }
        !self.bad
    }

    fn is_complete(&self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

/// A writer that remembers why it failed. The core's copy loops turn any I/O error into a
/// read error; this tells a failed write (a full disk, a closed pipe) apart.
struct WatchedWriter<W: Write> {
    inner: W,
    failure: Option<std::io::Error>,
}

impl<W: Write> WatchedWriter<W> {
    fn new(inner: W) -> Self {
        WatchedWriter { inner, failure: None }
    }

    fn note<T>(&mut self, r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r {
            if self.failure.is_none() {
                self.failure = Some(std::io::Error::new(e.kind(), e.to_string()));
            }
        }
        r
    }
}

impl<W: Write> Write for WatchedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

/// The end of writing `what` to `dest`: a failed write says "cannot write" (a closed pipe on
/// standard output is no error: the reader had enough); any other failure was a read.
fn finish_output<W: Write, T, E: std::fmt::Display>(result: Result<T, E>, out: &WatchedWriter<W>, dest: &str, what: &str) -> Result<(), String> {
    let Err(e) = result else { return Ok(()) };
    match &out.failure {
        Some(w) if dest == "standard output" => stdout_write_result(Err(std::io::Error::new(w.kind(), w.to_string()))),
        Some(w) => Err(format!("cannot write {dest}: {w}")),
        None => Err(format!("cannot read {what}: {e}")),
    }
}

fn export_cmd(archive_path: &Path, out_path: &Path, image: Option<&str>, layer: Option<usize>, json: bool) -> Result<ExitCode, String> {
    let to_stdout = out_path == Path::new("-");
    // Creating the output truncates it: `export -o img.tar img.tar` would destroy its own input.
    let out_file = if to_stdout { Path::new("/dev/stdout") } else { out_path };
    if same_file(archive_path, out_file) {
        return Err(format!("refusing to write the export over its own input {} (give another -o)", archive_path.display()));
    }
    let (archive, mut src) = open_indexed(archive_path, layer.is_some())?;
    let img = output::pick_image(archive.report(), image)?;
    let dest = if to_stdout { "standard output".to_owned() } else { out_path.display().to_string() };
    let inner: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(File::create(out_path).map_err(|e| format!("cannot create {}: {e}", out_path.display()))?)
    };
    let mut out = WatchedWriter::new(BufWriter::new(inner));
    if let Some(n) = layer {
        let l = img.layers.get(n).ok_or_else(|| format!("no layer {n} (the image has {} layers)", img.layers.len()))?;
        let blob = l.blob.ok_or_else(|| format!("layer {n} is not in the archive"))?;
        let written = export_layer_as_stored(&archive, &mut src, blob, &mut out).and_then(|r| out.flush().map(|()| r).map_err(strata::Error::from));
        let what = format!("layer {n}");
        let (bytes, unsafe_names) = match written {
            Ok(r) => r,
            Err(e) => {
                finish_output(Err::<(), _>(e), &out, &dest, &what)?;
                return Ok(ExitCode::SUCCESS); // a closed pipe on standard output
            }
        };
        warn_unsafe_names(n, &unsafe_names);
        if json {
            output::print_json(&serde_json::json!({ "layer": n, "bytes": bytes }))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (layers, tree) = merged(&archive, img, None)?;
    let mut source = ArchiveSource::new(&archive, &mut src, layers.blobs.clone());
    let exported = export::export_rootfs(&tree, &layers.indexes, &mut source, &mut out).and_then(|s| out.flush().map(|()| s).map_err(strata::Error::from));
    let stats = match exported {
        Ok(stats) => stats,
        Err(e) => {
            finish_output(Err::<(), _>(e), &out, &dest, &format!("the files of {}", image_name(img)))?;
            return Ok(ExitCode::SUCCESS); // a closed pipe on standard output
        }
    };
    for s in &stats.skipped {
        warn(&format!("left out {s} (broken hardlink or unknown type)"));
    }
    if json {
        output::print_json(&stats)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether two paths name one file (same device and inode; both must exist).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Names `export --layer` wrote as stored that an extractor could be led astray by.
const MAX_UNSAFE_NAMES_SHOWN: usize = 20;

/// Copy a layer's uncompressed tar to `out` byte for byte, and on the way read its entry
/// names as the runtimes do (`tar_guard::entry_header`) to find the unsafe ones: absolute
/// paths, `..` components, hard links out of the tree, and entries under a symlink the same
/// layer wrote (an extractor writing through it lands wherever the link points). Returns the
/// bytes written and those names, each with why.
fn export_layer_as_stored(archive: &Archive, src: &mut SeekBufReader<File>, blob: usize, out: &mut dyn Write) -> Result<(u64, Vec<String>), strata::Error> {
    let stream = archive.open_layer_stream(src, blob)?;
    let mut tee = Tee { inner: stream, out, copied: 0, write_failure: None };
    let mut unsafe_names = Vec::new();
    let mut symlinks: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    {
        let guard = strata::tar_guard::TarGuard::new(&mut tee);
        let seen = guard.extensions();
        let mut walk = tar::Archive::new(guard);
        if let Ok(entries) = walk.entries() {
            for entry in entries {
                // A walk that stops (damage, a limit) only ends the checking: the copy goes on.
                let Ok(mut entry) = entry else { break };
                let kind = entry.header().entry_type();
                let Ok(h) = strata::tar_guard::entry_header(&mut entry, &seen) else { continue };
                let shown = display_path(&h.path);
                let normal = strata::layer::normalize_path(&h.path);
                let climbs = |p: &[u8]| p.split(|&b| b == b'/').any(|c| c == b"..");
                if h.path.first() == Some(&b'/') {
                    unsafe_names.push(format!("{shown} (an absolute path)"));
                } else if climbs(&h.path) {
                    unsafe_names.push(format!("{shown} (climbs out with ..)"));
                } else if let Some(link) = symlink_parent(&normal, &symlinks) {
                    unsafe_names.push(format!("{shown} (under /{}, a symlink this layer wrote before it)", display_path(&link)));
                }
                if kind.is_hard_link() {
                    if let Some(l) = h.link.as_deref().filter(|l| l.first() == Some(&b'/') || climbs(l)) {
                        unsafe_names.push(format!("{shown} (a hard link to {}, out of the tree)", display_path(l)));
                    }
                }
                if kind.is_symlink() {
                    symlinks.insert(normal.into_vec());
                }
            }
        }
    }
    if let Some(e) = tee.write_failure.take() {
        return Err(strata::Error::from(e));
    }
    // Whatever the walk left unread (the end marker's last block, bytes after it): as is.
    std::io::copy(&mut tee, &mut std::io::sink())?;
    Ok((tee.copied, unsafe_names))
}

/// The nearest parent of `path` (normalised) that is one of `symlinks`.
fn symlink_parent(path: &[u8], symlinks: &std::collections::HashSet<Vec<u8>>) -> Option<Vec<u8>> {
    if symlinks.is_empty() {
        return None;
    }
    path.iter().enumerate().filter(|(_, &b)| b == b'/').map(|(i, _)| &path[..i]).find(|parent| symlinks.contains(*parent)).map(<[u8]>::to_vec)
}

fn warn_unsafe_names(layer: usize, names: &[String]) {
    if names.is_empty() {
        return;
    }
    warn(&format!(
        "warning: layer {layer} was written raw, as stored, and {} of its names are unsafe to extract as they are (an extractor that follows them writes outside its directory); `strata export` without --layer writes the merged filesystem, which is safe:",
        names.len()
    ));
    for n in names.iter().take(MAX_UNSAFE_NAMES_SHOWN) {
        warn(&format!("  {n}"));
    }
    if names.len() > MAX_UNSAFE_NAMES_SHOWN {
        warn(&format!("  … and {} more", names.len() - MAX_UNSAFE_NAMES_SHOWN));
    }
}

/// A reader that writes every byte it reads to `out`: the layer is copied as the walk reads it.
struct Tee<'o, R: Read> {
    inner: R,
    out: &'o mut dyn Write,
    copied: u64,
    /// A failed write, kept apart so that it is not mistaken for a damaged layer.
    write_failure: Option<std::io::Error>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Err(e) = self.out.write_all(&buf[..n]) {
            let again = std::io::Error::new(e.kind(), e.to_string());
            self.write_failure = Some(e);
            return Err(again);
        }
        self.copied += n as u64;
        Ok(n)
    }
}

/// `ARCHIVE` or `ARCHIVE@IMAGE`: the longest-existing-file rule lets paths contain `@`.
fn split_ref(arg: &str) -> (PathBuf, Option<String>) {
    if Path::new(arg).exists() {
        return (PathBuf::from(arg), None);
    }
    for (i, _) in arg.match_indices('@') {
        if Path::new(&arg[..i]).is_file() {
            return (PathBuf::from(&arg[..i]), Some(arg[i + 1..].to_string()));
        }
    }
    (PathBuf::from(arg), None)
}

fn diff(a: &str, b: &str, json: bool) -> Result<ExitCode, String> {
    let (pa, ra) = split_ref(a);
    let (pb, rb) = split_ref(b);
    let (arch_a, _sa) = open_indexed(&pa, true)?;
    let arch_b_owned;
    let arch_b = if pa == pb {
        &arch_a
    } else {
        arch_b_owned = open_indexed(&pb, true)?.0;
        &arch_b_owned
    };
    let img_a = output::pick_image(arch_a.report(), ra.as_deref())?;
    let img_b = output::pick_image(arch_b.report(), rb.as_deref())?;
    let (la, ta) = merged(&arch_a, img_a, None)?;
    let (lb, tb) = merged(arch_b, img_b, None)?;
    let d = diff_images(img_a, TreeSide { tree: &ta, layers: &la.indexes }, img_b, TreeSide { tree: &tb, layers: &lb.indexes });
    if json {
        output::print_json(&d)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Every line holds archive text (names, config values, history): escaped.
    let mut o = String::new();
    let mut line = |text: String| {
        o.push_str(&escape(&text));
        o.push('\n');
    };
    line(format!("--- {}", d.a));
    line(format!("+++ {}", d.b));
    if d.same_image {
        line("same image ID".into());
    }
    line(format!(
        "layers: {} shared ({} at the base); files: {} added (+{}), {} removed (-{}), {} changed",
        d.shared_layers.len(),
        d.shared_base_layers,
        d.summary.added,
        output::human_size(d.summary.added_bytes),
        d.summary.removed,
        output::human_size(d.summary.removed_bytes),
        d.summary.changed
    ));
    if !d.config.is_empty() {
        line(String::new());
        line("config:".into());
        for c in &d.config {
            let show = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "(unset)".into());
            line(format!("  {}: {} -> {}", c.field, show(&c.before), show(&c.after)));
        }
    }
    if !d.history.is_empty() {
        line(String::new());
        line(format!("history (first {} steps shared):", d.history_common_prefix));
        for h in &d.history {
            let sign = if h.change == strata::merge::diff::FileChangeKind::Added { '+' } else { '-' };
            line(format!("  {sign} {}", h.created_by));
        }
    }
    if !d.files.is_empty() {
        line(String::new());
        line("files:".into());
        for f in &d.files {
            let (sign, what) = match f.change {
                strata::merge::diff::FileChangeKind::Added => ('+', String::new()),
                strata::merge::diff::FileChangeKind::Removed => ('-', String::new()),
                strata::merge::diff::FileChangeKind::Changed if f.fields.is_empty() => ('?', "  (content not verified)".into()),
                strata::merge::diff::FileChangeKind::Changed => ('M', format!("  ({})", f.fields.join(", "))),
            };
            line(format!("  {sign} /{}{what}", f.path));
        }
    }
    print_text(&o)?;
    Ok(ExitCode::SUCCESS)
}

fn waste_cmd(archive_path: &Path, image: Option<&str>, top: usize, json: bool) -> Result<ExitCode, String> {
    let (archive, _src) = open_indexed(archive_path, false)?;
    let img = output::pick_image(archive.report(), image)?;
    let (layers, tree) = merged(&archive, img, None)?;
    let w = waste::analyze(&tree, &layers.indexes);
    if json {
        output::print_json(&w)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut o = format!(
        "image: {}\nfile bytes in layers: {}\nwasted: {} ({} bytes)\nefficiency: {:.2} %\n",
        escape(&image_name(img)),
        output::human_size(w.total_file_bytes),
        output::human_size(w.wasted_bytes),
        w.wasted_bytes,
        w.efficiency * 100.0
    );
    if !w.paths.is_empty() {
        o.push_str(&format!("\n{:>10}  {:>6}  PATH\n", "WASTED", "COPIES"));
        let n = if top == 0 { w.paths.len() } else { top.min(w.paths.len()) };
        for p in &w.paths[..n] {
            let path = escape(&p.path);
            o.push_str(&format!("{:>10}  {:>6}  /{path}{}\n", output::human_size(p.wasted_bytes), p.copies.len(), if p.present { "" } else { "  (deleted)" }));
        }
        if n < w.paths.len() {
            o.push_str(&format!("... {} more (use --top 0)\n", w.paths.len() - n));
        }
    }
    print_text(&o)?;
    Ok(ExitCode::SUCCESS)
}

fn dockerfile_cmd(archive_path: &Path, image: Option<&str>, json: bool) -> Result<ExitCode, String> {
    let file = File::open(archive_path).map_err(|e| format!("cannot open {}: {e}", archive_path.display()))?;
    let mut src = SeekBufReader::new(file);
    // History is metadata: no need to index or hash layers.
    let archive = Archive::open(&mut src, &mut |_| {}).map_err(|e| format!("{}: {e}", archive_path.display()))?;
    crate::require_images(archive.report(), archive_path)?;
    let img = output::pick_image(archive.report(), image)?;
    let lines = dockerfile::reconstruct(&img.history);
    if json {
        output::print_json(&lines)?;
    } else {
        // Each instruction on its own line, its archive text escaped (a line feed inside a
        // RUN shows as `\n` rather than starting a line of its own).
        let mut text = String::new();
        for l in &lines {
            text.push_str(&escape(&l.text));
            text.push('\n');
        }
        print_text(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
