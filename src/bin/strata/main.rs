//! `strata`: the command-line shell over the strata core.
//!
//! Exit codes: 0 every image verified; 1 read, but something failed verification;
//! 2 the archive cannot be read (with one sentence saying what and where).

mod check;
mod escape;
mod fs;
mod output;
mod parallel;
mod packages;
mod reference;

use clap::{Parser, Subcommand};
use std::fs::File;
use std::io::{IsTerminal, Write};
use strata::io::SeekBufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::report::Report;
use strata::{Archive, Phase, Progress};

#[derive(Parser)]
#[command(name = "strata", version, about = "Inspect docker save / OCI image archives: verify every digest, show images, layers, history and files")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the images (like `docker images`), then each image's layers with verdicts and config.
    Inspect {
        archive: PathBuf,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show an image's history (like `docker history`), newest first.
    History {
        archive: PathBuf,
        /// Image by tag, ID prefix or index (default: the first image).
        #[arg(long)]
        image: Option<String>,
        /// Do not truncate output.
        #[arg(long)]
        no_trunc: bool,
        /// Print sizes and dates in human readable format.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        human: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print what `docker load -i ARCHIVE` would print.
    LoadPreview { archive: PathBuf },
    /// Verify every digest and check policy rules (dive's `--ci` rules and `.dive-ci`
    /// files, size and layer limits); exit 0 when all pass, 1 when any fails.
    Check(check::CheckArgs),
    // -- filesystem commands (src/bin/strata/fs.rs) are added below this line --
    #[command(flatten)]
    Fs(fs::FsCommand),
    /// The packages of an image (dpkg, apk, rpm, Python, npm, Java, Go) and the layer that installed each.
    Packages {
        archive: PathBuf,
        /// Image by tag, ID prefix or index (default: the first image).
        #[arg(long)]
        image: Option<String>,
        /// The packages as of this layer (0 = bottom).
        #[arg(long)]
        layer: Option<usize>,
        /// Print {os, packages, layers, findings} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write an SBOM of an image: SPDX 2.3 or CycloneDX 1.6 JSON.
    Sbom {
        archive: PathBuf,
        /// Image by tag, ID prefix or index (default: the first image).
        #[arg(long)]
        image: Option<String>,
        /// `spdx-json` or `cyclonedx-json`.
        #[arg(long)]
        format: String,
        /// Output file (default: standard output).
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Write one of the built-in fixture archives (the web page's sample) to a file.
    #[command(hide = true)]
    Fixture {
        /// `sample` (the teaching image shown by the web page), `lesson-web`, `lesson-unionfs`.
        name: String,
        #[arg(short, long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect { archive, json } => with_report(&archive, |r| {
            if json {
                output::print_json(r)
            } else {
                output::print_inspect(r)
            }
        }),
        Command::History { archive, image, no_trunc, human, json } => with_report(&archive, |r| {
            let img = output::pick_image(r, image.as_deref())?;
            if json {
                output::print_json(&img.history)
            } else {
                output::print_history(img, no_trunc, human)
            }
        }),
        Command::LoadPreview { archive } => with_report(&archive, output::print_load_preview),
        Command::Check(args) => check::run(args),
        Command::Fixture { name, out } => write_fixture(&name, &out),
        Command::Fs(cmd) => fs::run(cmd),
        Command::Packages { archive, image, layer, json } => packages::packages_cmd(&archive, image.as_deref(), layer, json),
        Command::Sbom { archive, image, format, output } => packages::sbom_cmd(&archive, image.as_deref(), &format, output.as_ref()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            // Messages quote archive text (paths, tags): `warn` escapes it.
            output::warn(&message);
            ExitCode::from(2)
        }
    }
}

/// Open, verify, run `show`; exit 0 when everything verified, 1 otherwise.
fn with_report(path: &Path, show: impl FnOnce(&Report) -> Result<(), String>) -> Result<ExitCode, String> {
    let archive = open_verified(path)?;
    let report = archive.0.report();
    require_images(report, path)?;
    show(report)?;
    Ok(if report.all_verified() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Open and fully verify an archive, with a progress bar on a terminal for big files.
pub fn open_verified(path: &Path) -> Result<(Archive, SeekBufReader<File>), String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut src = SeekBufReader::new(file);
    let mut bar = ProgressBar::new(len > 300_000_000 && std::io::stderr().is_terminal());
    let mut archive = Archive::open(&mut src, &mut |p| bar.show(p)).map_err(|e| format!("{}: {e}", path.display()))?;
    parallel::verify_blobs(&mut archive, path, parallel::threads(), &mut |p| bar.show(p))?;
    archive.verify(&mut src, &mut |p| bar.show(p)).map_err(|e| format!("{}: {e}", path.display()))?;
    bar.clear();
    Ok((archive, src))
}

/// An archive read without error but holding no image (`manifest.json` is `null` or `[]`,
/// an index whose manifests are empty) leaves nothing to inspect: that is exit 2, with one
/// sentence saying why, not "0 of 0 images verified".
pub fn require_images(report: &Report, path: &Path) -> Result<(), String> {
    if !report.images.is_empty() {
        return Ok(());
    }
    // The core's findings say what it found instead (an empty manifest list, a manifest
    // that is not one); the first error or warning is the reason.
    let reason = report
        .findings
        .iter()
        .find(|f| f.severity != strata::report::Severity::Info)
        .map(|f| match &f.location {
            Some(at) if !f.message.contains(at.as_str()) => format!(" ({at}: {})", f.message),
            _ => format!(" ({})", f.message),
        })
        .unwrap_or_default();
    Err(format!("{}: the archive holds no image, so there is nothing to inspect{reason}", path.display()))
}

struct ProgressBar {
    enabled: bool,
    last_percent: Option<u64>,
}

impl ProgressBar {
    fn new(enabled: bool) -> Self {
        ProgressBar { enabled, last_percent: None }
    }

    fn show(&mut self, p: &Progress) {
        if !self.enabled || p.total == 0 {
            return;
        }
        let percent = p.done.saturating_mul(100) / p.total;
        if self.last_percent == Some(percent) {
            return;
        }
        self.last_percent = Some(percent);
        let phase = match p.phase {
            Phase::Indexing => "indexing",
            Phase::Verifying => "verifying",
            Phase::Merging => "merging",
        };
        let filled = (percent / 4) as usize;
        let mut err = std::io::stderr();
        let _ = write!(err, "\r{phase:>9} [{:<25}] {percent:>3}% {}", "#".repeat(filled), output::human_size(p.done));
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.enabled && self.last_percent.is_some() {
            let _ = write!(std::io::stderr(), "\r{:60}\r", "");
        }
    }
}

fn write_fixture(name: &str, out: &Path) -> Result<ExitCode, String> {
    let bytes = match name {
        "sample" => strata::fixture::sample_archive(),
        // The lesson view's archives (www/lessons/): `docker save web:v1 web:v2 | gzip`, and
        // one union-filesystem rule per layer.
        "lesson-web" => strata::fixture::lesson::web_archive(),
        "lesson-unionfs" => strata::fixture::lesson::unionfs_archive(),
        other => return Err(format!("unknown fixture {other:?} (known: sample, lesson-web, lesson-unionfs)")),
    };
    std::fs::write(out, bytes).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    Ok(ExitCode::SUCCESS)
}
