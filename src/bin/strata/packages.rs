//! `strata packages` and `strata sbom`: the packages of an image, which layer installed
//! each, and SBOMs (SPDX 2.3, CycloneDX 1.6) — the CLI over `strata::packages`.

use crate::escape::{escape, escape_truncated};
use crate::output::{self, print_text, warn};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::merge::source::{image_layers, ArchiveSource};
use strata::packages::sbom::{self, Subject, SubjectLayer};
use strata::packages::{scan_image, ImagePackages, Limits};
use strata::report::Image;

/// The history line (`created_by`) of an image's layer `k`, if the history maps it.
fn created_by(img: &Image, k: usize) -> Option<String> {
    let h = img.layers.get(k)?.history?;
    img.history.get(h)?.created_by.clone()
}

fn image_name(img: &Image) -> String {
    img.repo_tags.first().cloned().unwrap_or_else(|| output::short_id(&img.id))
}

/// Open and verify the archive (exit codes as `inspect`), pick the image, scan its layers
/// (up to `upto` when given).
fn scan(archive_path: &Path, image: Option<&str>, upto: Option<usize>, run: impl FnOnce(&Image, &ImagePackages) -> Result<(), String>) -> Result<ExitCode, String> {
    let (archive, mut src) = crate::open_verified(archive_path)?;
    let report = archive.report();
    crate::require_images(report, archive_path)?;
    let img = output::pick_image(report, image)?;
    let layers = image_layers(&archive, img);
    if !layers.missing.is_empty() {
        warn(&format!("warning: layer(s) {:?} of this image are not in the archive; packages they hold are not seen", layers.missing));
    }
    let n = match upto {
        Some(k) if k >= layers.indexes.len() => {
            return Err(format!("no layer {k} (the image has {} layers, 0 to {})", layers.indexes.len(), layers.indexes.len().saturating_sub(1)))
        }
        Some(k) => k + 1,
        None => layers.indexes.len(),
    };
    let mut source = ArchiveSource::new(&archive, &mut src, layers.blobs.clone());
    let found = scan_image(&layers.indexes[..n], &mut source, &Limits::default());
    run(img, &found)?;
    Ok(if report.all_verified() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `strata packages ARCHIVE [--image REF] [--layer K] [--json]`.
pub fn packages_cmd(archive_path: &Path, image: Option<&str>, layer: Option<usize>, json: bool) -> Result<ExitCode, String> {
    scan(archive_path, image, layer, |img, found| {
        if json {
            return output::print_json(&packages_json(img, found)?);
        }
        for f in &found.findings {
            warn(&format!("layer {}: {}: {}", f.layer, f.path, f.message));
        }
        print_text(&packages_table(img, found))
    })
}

/// The `--json` shape: `{os, packages, layers, findings}`, each layer with its history line.
fn packages_json(img: &Image, found: &ImagePackages) -> Result<serde_json::Value, String> {
    let mut value = serde_json::to_value(found).map_err(|e| e.to_string())?;
    if let Some(layers) = value.get_mut("layers").and_then(|l| l.as_array_mut()) {
        for layer in layers {
            let k = layer.get("index").and_then(|i| i.as_u64()).unwrap_or(0) as usize;
            layer["created_by"] = serde_json::json!(created_by(img, k));
        }
    }
    Ok(value)
}

fn packages_table(img: &Image, found: &ImagePackages) -> String {
    let mut o = String::new();
    if let Some(os) = &found.os {
        let name = os.pretty_name.clone().or_else(|| os.id.clone()).unwrap_or_default();
        o.push_str(&format!("os: {}", escape(&name)));
        if let Some(point) = &os.point_release {
            o.push_str(&format!(" (point release {})", escape(point)));
        }
        o.push('\n');
    }
    o.push_str(&format!("{} packages in {}\n\n", found.packages.len(), escape(&image_name(img))));
    let rows: Vec<[String; 5]> = found
        .packages
        .iter()
        .map(|p| {
            [
                p.kind.as_str().to_string(),
                escape_truncated(&p.name, 60),
                escape_truncated(&p.version, 40),
                p.layer.to_string(),
                escape_truncated(&created_by(img, p.layer).unwrap_or_default(), 60),
            ]
        })
        .collect();
    let header = ["TYPE", "NAME", "VERSION", "LAYER", "CREATED BY"];
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).chain([header[i].len()]).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3)];
    let line = |cells: [&str; 5]| {
        format!("{:w0$}  {:w1$}  {:w2$}  {:>w3$}  {}\n", cells[0], cells[1], cells[2], cells[3], cells[4], w0 = widths[0], w1 = widths[1], w2 = widths[2], w3 = widths[3])
    };
    o.push_str(&line(header));
    for r in &rows {
        o.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    let changed: Vec<_> = found.layers.iter().filter(|l| !l.is_empty()).collect();
    if !changed.is_empty() {
        o.push_str("\nLAYER  ADDED  REMOVED  UPGRADED  CREATED BY\n");
        for l in &changed {
            o.push_str(&format!(
                "{:>5}  {:>5}  {:>7}  {:>8}  {}\n",
                l.index,
                l.added.len(),
                l.removed.len(),
                l.upgraded.len(),
                escape_truncated(&created_by(img, l.index).unwrap_or_default(), 60)
            ));
            for u in &l.upgraded {
                o.push_str(&format!("       upgraded {} {} -> {}\n", escape(&u.name), escape(&u.from), escape(&u.to)));
            }
            for r in &l.removed {
                o.push_str(&format!("       removed {} {}\n", escape(&r.name), escape(&r.version)));
            }
        }
    }
    o
}

/// `strata sbom ARCHIVE [--image REF] --format spdx-json|cyclonedx-json [-o FILE]`.
pub fn sbom_cmd(archive_path: &Path, image: Option<&str>, format: &str, out: Option<&PathBuf>) -> Result<ExitCode, String> {
    let spdx = match format {
        "spdx-json" => true,
        "cyclonedx-json" => false,
        other => return Err(format!("unknown SBOM format {other:?} (use spdx-json or cyclonedx-json)")),
    };
    if let Some(out) = out {
        if same_file(out, archive_path) {
            return Err(format!("will not write the SBOM over its own input {}", out.display()));
        }
    }
    scan(archive_path, image, None, |img, found| {
        for f in &found.findings {
            warn(&format!("layer {}: {}: {}", f.layer, f.path, f.message));
        }
        let subject = Subject {
            name: image_name(img),
            image_id: img.id.clone(),
            created: sbom::rfc3339_utc(now_seconds()),
            layers: img.layers.iter().enumerate().map(|(k, l)| SubjectLayer { diff_id: l.diff_id.clone(), created_by: created_by(img, k) }).collect(),
        };
        let doc = if spdx { sbom::spdx_json(&subject, found) } else { sbom::cyclonedx_json(&subject, found) };
        match out {
            None => output::print_json(&doc),
            Some(path) => {
                let mut text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
                text.push('\n');
                std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
            }
        }
    })
}

/// The document's time: `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn now_seconds() -> u64 {
    if let Some(s) = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|v| v.trim().parse::<u64>().ok()) {
        return s;
    }
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
