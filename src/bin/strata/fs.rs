//! Filesystem commands: `ls`, `cat`, `export`, `diff`, `waste`, `dockerfile`.
//!
//! All of them work on an image's merged tree (strata::merge); `--json` prints the core's
//! serde values as they are.

use crate::output;
use clap::Subcommand;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use strata::io::SeekBufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::layer::{display_path, parse_display_path, EntryKind};
use strata::merge::diff::{diff_images, TreeSide};
use strata::merge::filter::PathFilter;
use strata::merge::read::{file_content, layer_file, ContentSource};
use strata::merge::source::{export_layer, image_layers, ArchiveSource};
use strata::merge::view::{list_dir, list_recursive, mode_string, walk_rows, DirEntryView, ListOptions, SortOrder};
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
        return crate::open_verified(path);
    }
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut src = SeekBufReader::new(file);
    let mut archive = Archive::open(&mut src, &mut |_| {}).map_err(|e| format!("{}: {e}", path.display()))?;
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
        eprintln!(
            "strata: warning: layer(s) {:?} of this image are not in the archive; the tree is incomplete",
            layers.missing
        );
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
        eprintln!("strata: layer {}: {}: {}", p.layer, p.path, p.message);
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
    if recursive && !json && sort == SortOrder::Name {
        // Printed as walked: the rows of a deep tree, each with its full path, would add up
        // to the square of its depth if they were all kept first.
        let mut out = BufWriter::new(std::io::stdout().lock());
        walk_rows(tree, &layers.indexes, &p, &opts, &mut |r| {
            writeln!(out, "{}", ls_line(&r, &r.path, long, view_layer.is_some())).is_ok() // a closed pipe (`| head`) stops the walk
        })
        .map_err(|e| format!("{e} in {}", image_name(img)))?;
        let _ = out.flush();
        return Ok(ExitCode::SUCCESS);
    }
    let rows = if recursive { list_recursive(tree, &layers.indexes, &p, &opts) } else { list_dir(tree, &layers.indexes, &p, &opts) }
        .map_err(|e| format!("{e} in {}", image_name(img)))?;
    if json {
        output::print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    for r in &rows {
        let shown = if recursive { &r.path } else { &r.name };
        if writeln!(out, "{}", ls_line(r, shown, long, view_layer.is_some())).is_err() {
            break; // a closed pipe (`| head`) is not an error
        }
    }
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// One line of `ls`: the name (`dir/` for directories), or with `long` the `ls -l` row.
fn ls_line(r: &DirEntryView, shown: &str, long: bool, marks: bool) -> String {
    if long {
        long_row(r, shown, marks)
    } else {
        format!("{shown}{}", if r.kind == EntryKind::Dir { "/" } else { "" })
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
        (EntryKind::Symlink, Some(l)) => s.push_str(&format!(" -> {l}")),
        (EntryKind::Hardlink, Some(l)) => s.push_str(&format!(" link to {l}")),
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

#[derive(Serialize)]
struct CatJson {
    path: String,
    layer: usize,
    size: u64,
    /// The content, when it is UTF-8.
    text: Option<String>,
}

fn cat(archive_path: &Path, path: &str, image: Option<&str>, layer: Option<usize>, json: bool) -> Result<ExitCode, String> {
    let (archive, mut src) = open_indexed(archive_path, false)?;
    let img = output::pick_image(archive.report(), image)?;
    let (layers, tree) = merged(&archive, img, layer)?;
    let p = parse_display_path(path);
    let (l, entry) = match layer {
        Some(n) => layer_file(&tree, &layers.indexes, n, &p),
        None => file_content(&tree, &layers.indexes, &p),
    }
    .map_err(|e| format!("{e} in {}", image_name(img)))?;
    let mut source = ArchiveSource::new(&archive, &mut src, layers.blobs.clone());
    let mut reader = source.open_entry(l, entry).map_err(|e| e.to_string())?;
    if json {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let text = String::from_utf8(bytes).ok();
        output::print_json(&CatJson { path: display_path(&norm(path)), layer: l, size: entry.size, text })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    match std::io::copy(&mut reader, &mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(format!("reading {path}: {e}")),
    }
    Ok(ExitCode::SUCCESS)
}

fn export_cmd(archive_path: &Path, out_path: &Path, image: Option<&str>, layer: Option<usize>, json: bool) -> Result<ExitCode, String> {
    let (archive, mut src) = open_indexed(archive_path, layer.is_some())?;
    let img = output::pick_image(archive.report(), image)?;
    let mut out: Box<dyn Write> = if out_path == Path::new("-") {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(File::create(out_path).map_err(|e| format!("cannot create {}: {e}", out_path.display()))?))
    };
    if let Some(n) = layer {
        let l = img.layers.get(n).ok_or_else(|| format!("no layer {n} (the image has {} layers)", img.layers.len()))?;
        let blob = l.blob.ok_or_else(|| format!("layer {n} is not in the archive"))?;
        let bytes = export_layer(&archive, &mut src, blob, &mut out).map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        if json {
            output::print_json(&serde_json::json!({ "layer": n, "bytes": bytes }))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (layers, tree) = merged(&archive, img, None)?;
    let mut source = ArchiveSource::new(&archive, &mut src, layers.blobs.clone());
    let stats = export::export_rootfs(&tree, &layers.indexes, &mut source, &mut out).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    for s in &stats.skipped {
        eprintln!("strata: left out {s} (broken hardlink or unknown type)");
    }
    if json {
        output::print_json(&stats)?;
    }
    Ok(ExitCode::SUCCESS)
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
    let mut o = String::new();
    o.push_str(&format!("--- {}\n+++ {}\n", d.a, d.b));
    if d.same_image {
        o.push_str("same image ID\n");
    }
    o.push_str(&format!(
        "layers: {} shared ({} at the base); files: {} added (+{}), {} removed (-{}), {} changed\n",
        d.shared_layers.len(),
        d.shared_base_layers,
        d.summary.added,
        output::human_size(d.summary.added_bytes),
        d.summary.removed,
        output::human_size(d.summary.removed_bytes),
        d.summary.changed
    ));
    if !d.config.is_empty() {
        o.push_str("\nconfig:\n");
        for c in &d.config {
            let show = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_else(|| "(unset)".into());
            o.push_str(&format!("  {}: {} -> {}\n", c.field, show(&c.before), show(&c.after)));
        }
    }
    if !d.history.is_empty() {
        o.push_str(&format!("\nhistory (first {} steps shared):\n", d.history_common_prefix));
        for h in &d.history {
            let sign = if h.change == strata::merge::diff::FileChangeKind::Added { '+' } else { '-' };
            o.push_str(&format!("  {sign} {}\n", h.created_by));
        }
    }
    if !d.files.is_empty() {
        o.push_str("\nfiles:\n");
        for f in &d.files {
            let (sign, what) = match f.change {
                strata::merge::diff::FileChangeKind::Added => ('+', String::new()),
                strata::merge::diff::FileChangeKind::Removed => ('-', String::new()),
                strata::merge::diff::FileChangeKind::Changed if f.fields.is_empty() => ('?', "  (content not verified)".into()),
                strata::merge::diff::FileChangeKind::Changed => ('M', format!("  ({})", f.fields.join(", "))),
            };
            o.push_str(&format!("  {sign} /{}{what}\n", f.path));
        }
    }
    print_text(&o);
    Ok(ExitCode::SUCCESS)
}

fn print_text(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
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
        image_name(img),
        output::human_size(w.total_file_bytes),
        output::human_size(w.wasted_bytes),
        w.wasted_bytes,
        w.efficiency * 100.0
    );
    if !w.paths.is_empty() {
        o.push_str(&format!("\n{:>10}  {:>6}  PATH\n", "WASTED", "COPIES"));
        let n = if top == 0 { w.paths.len() } else { top.min(w.paths.len()) };
        for p in &w.paths[..n] {
            o.push_str(&format!("{:>10}  {:>6}  /{}{}\n", output::human_size(p.wasted_bytes), p.copies.len(), p.path, if p.present { "" } else { "  (deleted)" }));
        }
        if n < w.paths.len() {
            o.push_str(&format!("... {} more (use --top 0)\n", w.paths.len() - n));
        }
    }
    print_text(&o);
    Ok(ExitCode::SUCCESS)
}

fn dockerfile_cmd(archive_path: &Path, image: Option<&str>, json: bool) -> Result<ExitCode, String> {
    let file = File::open(archive_path).map_err(|e| format!("cannot open {}: {e}", archive_path.display()))?;
    let mut src = SeekBufReader::new(file);
    // History is metadata: no need to index or hash layers.
    let archive = Archive::open(&mut src, &mut |_| {}).map_err(|e| format!("{}: {e}", archive_path.display()))?;
    let img = output::pick_image(archive.report(), image)?;
    let lines = dockerfile::reconstruct(&img.history);
    if json {
        output::print_json(&lines)?;
    } else {
        print_text(&dockerfile::to_text(&lines));
    }
    Ok(ExitCode::SUCCESS)
}
