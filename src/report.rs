//! The report: what strata found in an archive, as plain serde data.
//!
//! The CLI prints it, `--json` serialises it, and the page renders it. Everything a
//! reader needs to know about problems in the input lives here as data (verdicts and
//! findings), never as a panic or an early return.

use crate::codes::{Code, Message, Params};
use serde::Serialize;
use std::collections::BTreeMap;

/// The whole result of reading one archive.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub archive: ArchiveInfo,
    pub images: Vec<Image>,
    /// Problems and oddities in the input, in the order they were found.
    pub findings: Vec<Finding>,
    /// True once every blob has been hashed (false in a metadata-only report).
    pub verification_done: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ArchiveInfo {
    pub format: ArchiveFormat,
    /// Compression of the archive file as a whole (`docker save | gzip`).
    pub compression: Compression,
    /// Bytes of the archive as given (compressed, if it is).
    pub size: u64,
    /// Number of entries in the outer tar.
    pub entries: usize,
}

/// Which writer produced the archive, as far as its layout tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveFormat {
    /// `manifest.json` + `<id>/layer.tar` (docker save up to 24).
    DockerLegacy,
    /// Only `repositories` and `<id>/json` (saves before Docker 1.10).
    DockerPre110,
    /// `manifest.json` with `<sha>.tar` layers at the root (skopeo, podman, buildah).
    DockerArchive,
    /// OCI layout plus `manifest.json` (Docker 25+).
    DockerOci,
    /// OCI layout only (skopeo, buildah, BuildKit oci-archive).
    OciArchive,
    #[default]
    Unknown,
}

/// A compression format, detected from the bytes, never from names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
    Xz,
    Bzip2,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
        }
    }
}

/// One image (one manifest) in the archive.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Image {
    /// Position in `images`; stable for the life of the report.
    pub index: usize,
    /// `repo:tag` names; empty when saved by ID (shown as `<none>:<none>`).
    pub repo_tags: Vec<String>,
    /// Image ID: the digest of the config (`sha256:<hex>`).
    pub id: String,
    /// Digest of the OCI manifest, when the archive has one.
    pub manifest_digest: Option<String>,
    pub created: Option<String>,
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    /// Sum of the uncompressed layer sizes (what `docker images` shows).
    pub size: u64,
    /// Sum of the layer sizes as stored in the archive.
    pub stored_size: u64,
    /// True only when every check of this image (and of each of its layers) is ok.
    pub verified: bool,
    /// Where the image was described: `manifest.json[0]`, `index.json`, `repositories`.
    pub source: String,
    /// Checks on the image itself: config digest, manifest digest, index agreement.
    pub checks: Vec<Check>,
    pub layers: Vec<Layer>,
    pub config: ImageConfig,
    /// Oldest first, as in the config.
    pub history: Vec<HistoryEntry>,
}

/// One layer of one image.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Layer {
    /// 0 is the bottom layer.
    pub index: usize,
    /// Digest of the layer as stored (the manifest's layer digest).
    pub digest: Option<String>,
    /// Digest of the uncompressed tar, as the config's `rootfs.diff_ids` says.
    pub diff_id: Option<String>,
    pub media_type: Option<String>,
    /// Compression detected from the stored bytes (`None` until read).
    pub compression: Option<Compression>,
    /// Path of the blob inside the archive (after following symlinks).
    pub path: Option<String>,
    pub stored_size: Option<u64>,
    pub uncompressed_size: Option<u64>,
    /// Entries in the layer tar, once indexed.
    pub entries: Option<usize>,
    /// Foreign layer (URLs in the descriptor or `LayerSources`): not in the archive by design.
    pub foreign: bool,
    pub checks: Vec<Check>,
    /// Index into the image's `history` of the entry that made this layer.
    pub history: Option<usize>,
    /// Handle of the blob in the archive, for listing and reading its files.
    pub blob: Option<usize>,
}

/// One verifiable claim and what strata found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// What was checked, in English: `blob digest`, `blob size`, `diff_id`, `config digest`, ...
    pub item: String,
    /// The same as a code: `blob_digest`, `blob_size`, `diff_id`, `config_digest`, ...
    pub code: Code,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl Check {
    /// A check of `what` (a check-item code); `item` is its English name.
    pub fn new(what: Code, verdict: Verdict) -> Check {
        Check { item: what.english(&Params::new()), code: what, verdict }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Mismatch { expected: String, actual: String },
    SizeMismatch { expected: u64, actual: u64 },
    Missing,
    /// `why` is the English reason; `why_code` and `why_params` the same as a code.
    NotCheckable { why: String, why_code: Code, why_params: Params },
    /// Known, but not hashed yet (metadata-only report).
    Pending,
}

impl Verdict {
    /// Not checkable, for the coded reason `why`.
    pub fn not_checkable(why: Message) -> Verdict {
        Verdict::NotCheckable { why: why.english(), why_code: why.code, why_params: why.params }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Verdict::Ok)
    }
    /// A short word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Mismatch { .. } => "MISMATCH",
            Verdict::SizeMismatch { .. } => "SIZE MISMATCH",
            Verdict::Missing => "MISSING",
            Verdict::NotCheckable { .. } => "not checkable",
            Verdict::Pending => "pending",
        }
    }
}

/// The container configuration, as `docker inspect` shows it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImageConfig {
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<serde_json::Value>,
    pub author: Option<String>,
    /// The config file exactly as parsed.
    pub raw: serde_json::Value,
}

/// One entry of `config.history`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct HistoryEntry {
    pub index: usize,
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub empty_layer: bool,
    /// The layer this entry made (index into `layers`), when it can be mapped.
    pub layer: Option<usize>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// What was found, as a code (`layer_missing`) and its named parameters.
    pub code: Code,
    pub params: Params,
    /// The same in English, generated from the code's template and the parameters.
    pub message: String,
    /// Where in the archive: an entry name, `manifest.json[1]`, a byte offset.
    pub location: Option<String>,
}

impl Finding {
    pub fn new(severity: Severity, what: Message, location: Option<String>) -> Finding {
        Finding { severity, message: what.english(), code: what.code, params: what.params, location }
    }
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// 12 hex digits of an image or blob ID, as docker shows them.
pub fn short_id(id: &str) -> String {
    id.strip_prefix("sha256:").unwrap_or(id).chars().take(12).collect()
}

impl Image {
    /// `os/arch[/variant]`, as `docker --platform` writes it (empty when the config says nothing).
    pub fn platform(&self) -> String {
        [self.os.as_deref(), self.architecture.as_deref(), self.variant.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join("/")
    }
}

impl Report {
    pub fn finding(&mut self, severity: Severity, what: Message, location: Option<String>) {
        self.findings.push(Finding::new(severity, what, location));
    }

    /// True when there is at least one image, every image verified and no finding is an error.
    pub fn all_verified(&self) -> bool {
        self.verification_done
            && !self.images.is_empty()
            && self.images.iter().all(|i| i.verified)
            && !self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}
