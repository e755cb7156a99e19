//! Resolve: read the archive's own description of itself — `manifest.json`,
//! `index.json` (OCI, possibly nested), `repositories` and pre-1.10 `<id>/json` chains —
//! into a plan: which images exist, which blob is each image's config and layers, and
//! what digests and sizes the metadata claims for them. Nothing is hashed here except
//! the small metadata files themselves; claims are checked later against blob facts.

use crate::codes::{Code, Message};
use crate::io::sha256_of;
use crate::report::{ArchiveFormat, Finding, HistoryEntry, Severity};
use crate::scan::{normalize, OuterIndex};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// Metadata files larger than this are refused (a config is kilobytes; 16 MiB is generous).
pub const MAX_JSON_BYTES: u64 = 16 << 20;
/// OCI indexes nested deeper than this are not followed.
const MAX_INDEX_DEPTH: usize = 8;
/// Images per archive and layers per image are capped to keep hostile metadata bounded.
const MAX_IMAGES: usize = 10_000;
const MAX_LAYERS: usize = 10_000;

const ATTESTATION: &str = "attestation-manifest";

/// The resolver asks for files through this trait; it never does I/O itself.
pub trait Files {
    fn index(&self) -> &OuterIndex;
    /// The whole content of a regular file entry, refusing more than `cap` bytes.
    fn read(&mut self, entry: usize, cap: u64) -> Result<Vec<u8>, Message>;
}

/// What the archive claims.
#[derive(Debug, Default)]
pub struct Plan {
    pub format: ArchiveFormat,
    pub images: Vec<ImagePlan>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Default, Clone)]
pub struct ImagePlan {
    pub repo_tags: Vec<String>,
    pub source: String,
    /// Image ID: `sha256:` of the config bytes (pre-1.10: the v1 image id).
    pub id: String,
    /// The config's expected digest (from its file name or descriptor), if any.
    pub config_expected: Option<String>,
    pub config_path: Option<String>,
    pub config: Value,
    pub manifest: Option<ManifestPlan>,
    pub layers: Vec<LayerPlan>,
    pub platform: Platform,
    /// Claims checked already, while resolving (config digest, manifest digest, agreement).
    pub checks: Vec<crate::report::Check>,
    /// Pre-1.10 images carry their history in the v1 layer chain, not in a config.
    pub history_override: Option<Vec<HistoryEntry>>,
    /// Pre-1.10 layers have no content digests to check.
    pub no_digests: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ManifestPlan {
    pub digest: String,
    pub path: String,
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LayerPlan {
    /// Path as referenced by the metadata.
    pub path: Option<String>,
    /// The outer entry holding the bytes (links followed), or why there is none.
    pub entry: Option<usize>,
    pub missing_why: Option<Message>,
    /// Descriptor digest / size (what the stored bytes must hash to / weigh).
    pub digest: Option<String>,
    pub size: Option<u64>,
    /// Digest implied by a file name (`blobs/sha256/<hex>`, `<hex>.tar`).
    pub name_digest: Option<String>,
    /// True when the name digest names the uncompressed content (`<hex>.tar` docker-archive
    /// layers are named by diff_id) rather than the stored bytes.
    pub name_is_diff_id: bool,
    pub media_type: Option<String>,
    pub foreign: bool,
}

// ---------------------------------------------------------------------------------------

struct Ctx<'a> {
    files: &'a mut dyn Files,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn finding(&mut self, severity: Severity, what: impl Into<Message>, location: impl Into<String>) {
        self.findings.push(Finding::new(severity, what.into(), Some(location.into())));
    }

    /// Read and parse a JSON file by archive path (links followed). Problems become findings.
    fn json(&mut self, path: &str) -> Option<(Value, String)> {
        let entry = match self.files.index().resolve_file(path) {
            Ok(e) => e,
            Err(why) => {
                self.finding(Severity::Error, Message::new(Code::CannotOpen).with("path", path).with("why", why), path);
                return None;
            }
        };
        let bytes = match self.files.read(entry, MAX_JSON_BYTES) {
            Ok(b) => b,
            Err(why) => {
                self.finding(Severity::Error, Message::new(Code::CannotRead).with("path", path).with("why", why), path);
                return None;
            }
        };
        let digest = sha256_of(&bytes);
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => Some((v, digest)),
            Err(e) => {
                self.finding(Severity::Error, Message::new(Code::InvalidJson).with("path", path).with("detail", e.to_string()), path);
                None
            }
        }
    }

    fn exists(&self, path: &str) -> bool {
        self.files.index().get(&normalize(path)).is_some()
    }

    /// A descriptor's `size` (`what` is [`Code::ManifestSize`] or [`Code::ConfigSize`]) against the file at `path`
    /// as stored: a mismatch means the content cannot be trusted (OCI descriptor spec), so it
    /// is an error finding and a check that fails verification like a digest mismatch.
    /// `None` when the descriptor gives no size or the file is not there.
    fn check_size(&mut self, what: Code, desc: Option<&Map<String, Value>>, path: &str) -> Option<crate::report::Check> {
        use crate::report::Verdict;
        let claimed = desc?.get("size").and_then(Value::as_u64)?;
        let index = self.files.index();
        let stored = index.entries.get(index.resolve_file(path).ok()?)?.size;
        let verdict = if claimed == stored {
            Verdict::Ok
        } else {
            let mismatch = if what == Code::ConfigSize { Code::ConfigSizeMismatch } else { Code::ManifestSizeMismatch };
            self.finding(Severity::Error, Message::new(mismatch).with("expected", claimed).with("actual", stored), path);
            Verdict::SizeMismatch { expected: claimed, actual: stored }
        };
        Some(crate::report::Check::new(what, verdict))
    }
}

/// Look up a key as docker writes it (`RepoTags`), as Jib writes it (`repoTags`), or all
/// lowercase.
fn field<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    let camel: String = key.chars().take(1).flat_map(char::to_lowercase).chain(key.chars().skip(1)).collect();
    obj.get(key)
        .or_else(|| obj.get(&camel))
        .or_else(|| obj.get(&key.to_ascii_lowercase()))
        .filter(|v| !v.is_null())
}

fn string(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `sha256:<64 hex>` → `<hex>`, if well formed.
pub fn digest_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The digest a path's name promises: `blobs/sha256/<hex>` → stored bytes;
/// `<hex>.tar` / `<hex>.json` at the root → content (the bool says "names the diff_id").
fn name_digest(path: &str) -> Option<(String, bool)> {
    let path = normalize(path);
    if let Some(hex) = path.strip_prefix("blobs/sha256/") {
        return is_hex64(hex).then(|| (format!("sha256:{hex}"), false));
    }
    if path.contains('/') {
        return None;
    }
    for ext in [".tar", ".tar.gz", ".json"] {
        if let Some(hex) = path.strip_suffix(ext) {
            if is_hex64(hex) {
                return Some((format!("sha256:{hex}"), ext != ".json"));
            }
        }
    }
    None
}

/// Make a reference as `docker images` would show it.
pub fn short_reference(name: &str) -> String {
    let n = name.strip_prefix("docker.io/library/").or_else(|| name.strip_prefix("docker.io/")).unwrap_or(name);
    n.to_owned()
}

/// The tag an OCI descriptor carries, as `repo:tag`.
fn descriptor_tag(desc: &Map<String, Value>) -> Option<String> {
    let ann = desc.get("annotations").and_then(Value::as_object)?;
    if let Some(full) = ann.get("io.containerd.image.name").and_then(Value::as_str) {
        return Some(short_reference(full));
    }
    let r = ann.get("org.opencontainers.image.ref.name").and_then(Value::as_str)?;
    if r.is_empty() {
        return None;
    }
    // A full reference (skopeo `oci-archive:f.tar:name:tag`) or a bare tag (umoci `latest`).
    if r.contains(':') || r.contains('/') {
        Some(short_reference(r))
    } else {
        Some(format!("<none>:{r}"))
    }
}

// ---------------------------------------------------------------------------------------

/// Whether an archive path is a file a desktop's file browser leaves beside others when
/// an archive is unpacked and packed again by hand: macOS `.DS_Store`, AppleDouble `._*`
/// files and anything under `__MACOSX/`, Windows `Thumbs.db` and `desktop.ini`. Such a
/// file is no blob (`blobs/sha256/._<hex>` is not named by its digest) and is reported
/// as junk, not as a digest failure.
pub fn is_junk_name(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    if path.split('/').any(|part| part == "__MACOSX") {
        return true;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    name == ".DS_Store" || name.starts_with("._") || name.eq_ignore_ascii_case("Thumbs.db") || name.eq_ignore_ascii_case("desktop.ini")
}

/// Resolve the archive's metadata into a plan.
pub fn resolve(files: &mut dyn Files) -> Plan {
    let mut ctx = Ctx { files, findings: Vec::new() };
    let has_manifest = ctx.exists("manifest.json");
    let has_index = ctx.exists("index.json");
    let has_repositories = ctx.exists("repositories");

    let mut images = Vec::new();
    let format;
    if has_manifest {
        images = docker_manifest(&mut ctx);
        if has_index {
            format = ArchiveFormat::DockerOci;
            let oci = oci_images(&mut ctx);
            cross_check(&mut ctx, &mut images, oci);
        } else {
            // skopeo/podman name layers `<sha>.tar` at the root; docker save uses `<id>/layer.tar`.
            let root_layers = images.iter().flat_map(|i| &i.layers).any(|l| l.name_digest.is_some());
            format = if root_layers { ArchiveFormat::DockerArchive } else { ArchiveFormat::DockerLegacy };
        }
        if has_repositories {
            check_repositories(&mut ctx, &images);
        }
    } else if has_index {
        format = ArchiveFormat::OciArchive;
        images = oci_images(&mut ctx);
        if !ctx.exists("oci-layout") {
            ctx.finding(Severity::Warning, Code::NoOciLayout, "oci-layout");
        }
    } else if has_repositories {
        format = ArchiveFormat::DockerPre110;
        images = pre_110(&mut ctx);
    } else {
        format = ArchiveFormat::Unknown;
    }
    Plan { format, images, findings: ctx.findings }
}

// --- docker save manifest.json ---------------------------------------------------------

fn docker_manifest(ctx: &mut Ctx<'_>) -> Vec<ImagePlan> {
    let Some((doc, _)) = ctx.json("manifest.json") else { return Vec::new() };
    let Some(list) = doc.as_array() else {
        ctx.finding(Severity::Error, Code::ManifestJsonNotArray, "manifest.json");
        return Vec::new();
    };
    if list.len() > MAX_IMAGES {
        let too_many = Message::new(Code::TooManyImages).with("count", list.len()).with("max", MAX_IMAGES);
        ctx.finding(Severity::Error, too_many, "manifest.json");
    }
    let mut images = Vec::new();
    for (i, item) in list.iter().take(MAX_IMAGES).enumerate() {
        let loc = format!("manifest.json[{i}]");
        let Some(obj) = item.as_object() else {
            ctx.finding(Severity::Error, Code::EntryNotObject, loc);
            continue;
        };
        let mut image = ImagePlan { source: loc.clone(), ..Default::default() };
        // RepoTags may be null (saved by ID).
        // skopeo and podman write full references (`docker.io/library/app:v1`); `docker
        // load` and `docker images` show them short (`app:v1`), and so does strata.
        image.repo_tags = strings(field(obj, "RepoTags")).iter().map(|t| short_reference(t)).collect();
        let Some(config_path) = string(field(obj, "Config")) else {
            ctx.finding(Severity::Error, Code::EntryNoConfig, loc);
            continue;
        };
        load_config(ctx, &mut image, &config_path, name_digest(&config_path).map(|(d, _)| d));
        let sources = field(obj, "LayerSources").and_then(Value::as_object).cloned().unwrap_or_default();
        let diff_ids = diff_ids(&image.config);
        let layer_paths = strings(field(obj, "Layers"));
        if layer_paths.len() > MAX_LAYERS {
            ctx.finding(Severity::Error, Message::new(Code::TooManyLayers).with("max", MAX_LAYERS), loc.clone());
        }
        for (k, path) in layer_paths.iter().take(MAX_LAYERS).enumerate() {
            let mut layer = LayerPlan { path: Some(path.clone()), ..Default::default() };
            match ctx.files.index().resolve_file(path) {
                Ok(entry) => {
                    layer.entry = Some(entry);
                    let stored_name = ctx.files.index().entries[entry].name.clone();
                    if let Some((d, is_diff)) = name_digest(&stored_name).or_else(|| name_digest(path)) {
                        layer.name_digest = Some(d);
                        layer.name_is_diff_id = is_diff;
                    }
                }
                Err(why) => {
                    // Keep the digest the name promises: index.json cross-checks use it.
                    if let Some((d, is_diff)) = name_digest(path) {
                        layer.name_digest = Some(d);
                        layer.name_is_diff_id = is_diff;
                    }
                    // A foreign layer (Windows base layers) is listed in LayerSources.
                    let source = diff_ids.get(k).and_then(|d| sources.get(d)).and_then(Value::as_object);
                    if let Some(desc) = source {
                        layer.foreign = true;
                        layer.digest = string(desc.get("digest"));
                        layer.size = desc.get("size").and_then(Value::as_u64);
                        layer.media_type = string(desc.get("mediaType"));
                        ctx.finding(
                            Severity::Info,
                            Message::new(Code::ForeignLayerSources).with("layer", k),
                            format!("{loc}.Layers[{k}]"),
                        );
                        layer.missing_why = Some(Message::new(Code::ForeignLayerReason));
                    } else {
                        let missing = Message::new(Code::LayerMissing).with("layer", k).with("why", why.clone());
                        ctx.finding(Severity::Error, missing, format!("{loc}.Layers[{k}]"));
                        layer.missing_why = Some(why);
                    }
                }
            }
            image.layers.push(layer);
        }
        images.push(image);
    }
    images
}

/// Load a config by path into the image: digest (the image ID), expected digest, JSON.
fn load_config(ctx: &mut Ctx<'_>, image: &mut ImagePlan, path: &str, expected: Option<String>) {
    image.config_path = Some(normalize(path));
    image.config_expected = expected.clone();
    match ctx.json(path) {
        Some((config, actual)) => {
            image.id = actual.clone();
            image.platform = Platform {
                os: string(config.get("os")),
                architecture: string(config.get("architecture")),
                variant: string(config.get("variant")),
            };
            image.config = config;
            image.checks.push(check_digest(Code::ConfigDigest, expected.as_deref(), Some(&actual)));
        }
        None => {
            image.id = expected.clone().unwrap_or_default();
            image.checks.push(crate::report::Check::new(Code::ConfigDigest, crate::report::Verdict::Missing));
        }
    }
}

fn check_digest(item: Code, expected: Option<&str>, actual: Option<&str>) -> crate::report::Check {
    use crate::report::Verdict;
    let verdict = match (expected, actual) {
        (Some(e), Some(a)) if e == a => Verdict::Ok,
        (Some(e), Some(a)) => Verdict::Mismatch { expected: e.to_owned(), actual: a.to_owned() },
        (None, Some(_)) => Verdict::Ok,
        (_, None) => Verdict::Missing,
    };
    crate::report::Check::new(item, verdict)
}

pub fn diff_ids(config: &Value) -> Vec<String> {
    strings(config.get("rootfs").and_then(|r| r.get("diff_ids")))
}

/// Legacy `repositories` should name the top layer of a tagged image; say so when it does not.
fn check_repositories(ctx: &mut Ctx<'_>, images: &[ImagePlan]) {
    let Some((doc, _)) = ctx.json("repositories") else { return };
    let Some(repos) = doc.as_object() else {
        ctx.finding(Severity::Warning, Code::RepositoriesNotObject, "repositories");
        return;
    };
    let known: HashSet<&str> = images.iter().flat_map(|i| i.repo_tags.iter().map(String::as_str)).collect();
    for (repo, tags) in repos {
        for tag in tags.as_object().map(|t| t.keys().collect::<Vec<_>>()).unwrap_or_default() {
            let name = short_reference(&format!("{repo}:{tag}"));
            if !known.contains(name.as_str()) {
                ctx.finding(Severity::Warning, Message::new(Code::RepositoriesExtraTag).with("tag", name), "repositories");
            }
        }
    }
}

// --- OCI index.json ----------------------------------------------------------------------

fn oci_images(ctx: &mut Ctx<'_>) -> Vec<ImagePlan> {
    let found = walk_index(ctx);
    // The same manifest may be reachable twice (tagged twice): merge the tags.
    let mut out: Vec<ImagePlan> = Vec::new();
    let mut by_manifest: HashMap<String, usize> = HashMap::new();
    for img in found {
        let key = img.manifest.as_ref().map(|m| m.digest.clone()).unwrap_or_default();
        if let Some(&i) = by_manifest.get(&key) {
            for t in img.repo_tags {
                if !out[i].repo_tags.contains(&t) {
                    out[i].repo_tags.push(t);
                }
            }
            continue;
        }
        by_manifest.insert(key, out.len());
        out.push(img);
    }
    out
}

fn walk_index(ctx: &mut Ctx<'_>) -> Vec<ImagePlan> {
    let Some((index, _)) = ctx.json("index.json") else { return Vec::new() };
    let mut out = Vec::new();
    let mut visited = HashSet::new();
    walk_manifests(ctx, &index, "index.json", None, 0, &mut visited, &mut out);
    if out.is_empty() && index.get("manifests").is_some_and(Value::is_null) {
        ctx.finding(Severity::Warning, Code::ManifestsNull, "index.json");
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn walk_manifests(
    ctx: &mut Ctx<'_>,
    index: &Value,
    location: &str,
    inherited_tag: Option<&str>,
    depth: usize,
    visited: &mut HashSet<String>,
    out: &mut Vec<ImagePlan>,
) {
    let Some(manifests) = index.get("manifests").and_then(Value::as_array) else {
        if !index.get("manifests").is_some_and(Value::is_null) {
            ctx.finding(Severity::Error, Message::new(Code::NoManifestsArray).with("path", location), location);
        }
        return;
    };
    for (i, desc) in manifests.iter().enumerate().take(MAX_IMAGES) {
        let loc = format!("{location}.manifests[{i}]");
        let Some(desc) = desc.as_object() else { continue };
        let Some(digest) = string(desc.get("digest")) else {
            ctx.finding(Severity::Error, Code::DescriptorNoDigest, loc);
            continue;
        };
        let Some(hex) = digest_hex(&digest) else {
            ctx.finding(Severity::Error, Message::new(Code::UnsupportedDigest).with("digest", digest), loc);
            continue;
        };
        let media = string(desc.get("mediaType")).unwrap_or_default();
        let platform = desc.get("platform");
        let plat_os = platform.and_then(|p| p.get("os")).and_then(Value::as_str).unwrap_or("");
        let reference_type = desc
            .get("annotations")
            .and_then(|a| a.get("vnd.docker.reference.type"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if reference_type == ATTESTATION || plat_os == "unknown" {
            ctx.finding(Severity::Info, Message::new(Code::AttestationManifest).with("digest", digest), loc);
            continue;
        }
        let tag = descriptor_tag(desc);
        let tag = tag.as_deref().or(inherited_tag);
        let path = format!("blobs/sha256/{hex}");
        if !ctx.exists(&path) {
            let absent = match platform {
                Some(p) => {
                    let arch = p.get("architecture").and_then(Value::as_str).unwrap_or("?");
                    Message::new(Code::PlatformManifestAbsent).with("platform", format!("{plat_os}/{arch}"))
                }
                None => Message::new(Code::ManifestAbsent),
            };
            // Inside a multi-platform index, absent platforms are normal (docker saves one);
            // a manifest index.json names directly must be there.
            let severity = if depth == 0 { Severity::Error } else { Severity::Info };
            ctx.finding(severity, absent.with("digest", digest), loc);
            continue;
        }
        if !visited.insert(digest.clone()) && depth > 0 {
            continue;
        }
        let Some((doc, actual)) = ctx.json(&path) else { continue };
        if actual != digest {
            let mismatch = Message::new(Code::ManifestDigestMismatch).with("expected", &digest).with("actual", &actual);
            ctx.finding(Severity::Error, mismatch, path.clone());
        }
        let size_check = ctx.check_size(Code::ManifestSize, Some(desc), &path);
        let is_index = media.contains("index") || media.contains("manifest.list") || doc.get("manifests").is_some();
        if is_index {
            if depth >= MAX_INDEX_DEPTH {
                ctx.finding(Severity::Error, Message::new(Code::IndexTooDeep).with("max", MAX_INDEX_DEPTH), path);
                continue;
            }
            walk_manifests(ctx, &doc, &path, tag, depth + 1, visited, out);
            continue;
        }
        let mut plan = oci_manifest(ctx, &doc, &path, &digest, &actual);
        plan.checks.extend(size_check);
        plan.manifest = Some(ManifestPlan { digest: actual, path: path.clone(), media_type: Some(media).filter(|m| !m.is_empty()) });
        if let Some(t) = tag {
            plan.repo_tags.push(t.to_owned());
        }
        if plan.platform.os.is_none() {
            plan.platform.os = platform.and_then(|p| p.get("os")).and_then(Value::as_str).map(str::to_owned);
            plan.platform.architecture = platform.and_then(|p| p.get("architecture")).and_then(Value::as_str).map(str::to_owned);
        }
        out.push(plan);
    }
}

/// One OCI (or Docker schema 2) image manifest → an image plan.
fn oci_manifest(ctx: &mut Ctx<'_>, doc: &Value, path: &str, descriptor_digest: &str, actual: &str) -> ImagePlan {
    let mut image = ImagePlan { source: path.to_owned(), ..Default::default() };
    image.checks.push(check_digest(Code::ManifestDigest, Some(descriptor_digest), Some(actual)));
    let config = doc.get("config").and_then(Value::as_object);
    match config.and_then(|c| string(c.get("digest"))) {
        Some(cd) => {
            let cpath = digest_hex(&cd).map(|h| format!("blobs/sha256/{h}")).unwrap_or_default();
            load_config(ctx, &mut image, &cpath, Some(cd));
            image.checks.extend(ctx.check_size(Code::ConfigSize, config, &cpath));
        }
        None => ctx.finding(Severity::Error, Code::ManifestNoConfig, path),
    }
    let layers = doc.get("layers").and_then(Value::as_array).cloned().unwrap_or_default();
    for (k, desc) in layers.iter().take(MAX_LAYERS).enumerate() {
        let mut layer = LayerPlan {
            digest: string(desc.get("digest")),
            size: desc.get("size").and_then(Value::as_u64),
            media_type: string(desc.get("mediaType")),
            ..Default::default()
        };
        let urls = strings(desc.get("urls"));
        let foreign_type = layer.media_type.as_deref().is_some_and(|m| m.contains("foreign") || m.contains("nondistributable"));
        let lpath = layer.digest.as_deref().and_then(digest_hex).map(|h| format!("blobs/sha256/{h}"));
        let resolved = lpath.as_deref().map(|p| ctx.files.index().resolve_file(p));
        let is_foreign = !urls.is_empty() || foreign_type;
        match resolved {
            Some(Ok(e)) => {
                layer.entry = Some(e);
                layer.name_digest = layer.digest.clone();
            }
            _ if is_foreign => {
                layer.foreign = true;
                layer.missing_why = Some(Message::new(Code::ForeignLayerReason));
                ctx.finding(Severity::Info, Message::new(Code::ForeignLayer).with("layer", k), format!("{path}.layers[{k}]"));
            }
            Some(Err(why)) => {
                let missing = Message::new(Code::LayerMissing).with("layer", k).with("why", why.clone());
                ctx.finding(Severity::Error, missing, format!("{path}.layers[{k}]"));
                layer.missing_why = Some(why);
            }
            None => {
                let no_digest = Message::new(Code::LayerNoDigest).with("layer", k);
                ctx.finding(Severity::Error, no_digest.clone(), format!("{path}.layers[{k}]"));
                layer.missing_why = Some(no_digest);
            }
        }
        layer.path = lpath;
        image.layers.push(layer);
    }
    image
}

/// Docker 25+: `manifest.json` is what `docker load` reads; `index.json` should agree.
/// Fill in manifest digests and descriptor claims, and report disagreements.
fn cross_check(ctx: &mut Ctx<'_>, images: &mut Vec<ImagePlan>, oci: Vec<ImagePlan>) {
    use crate::report::{Check, Verdict};
    let mut matched = vec![false; oci.len()];
    for image in images.iter_mut() {
        let found = oci.iter().position(|o| !o.id.is_empty() && o.id == image.id);
        let Some(j) = found else {
            let name = image.repo_tags.first().cloned().unwrap_or_else(|| image.id.clone());
            ctx.finding(Severity::Warning, Message::new(Code::NotInIndex).with("image", name), image.source.clone());
            continue;
        };
        matched[j] = true;
        let o = &oci[j];
        image.manifest = o.manifest.clone();
        // What the OCI side alone can check: its manifest's bytes, and the config's size
        // (manifest.json gives no sizes).
        let oci_only = [Code::ManifestDigest, Code::ManifestSize, Code::ConfigSize];
        image.checks.extend(o.checks.iter().filter(|c| oci_only.contains(&c.code)).cloned());
        // Same layers, in the same order?
        let ours: Vec<Option<String>> = image.layers.iter().map(|l| l.name_digest.clone()).collect();
        let theirs: Vec<Option<String>> = o.layers.iter().map(|l| l.digest.clone()).collect();
        let agrees = ours == theirs;
        image.checks.push(Check::new(
            Code::IndexAgrees,
            if agrees {
                Verdict::Ok
            } else {
                Verdict::Mismatch { expected: format!("{} layers {:?}", theirs.len(), short(&theirs)), actual: format!("{} layers {:?}", ours.len(), short(&ours)) }
            },
        ));
        if !agrees {
            ctx.finding(Severity::Error, Code::LayersDisagree, image.source.clone());
        } else {
            // Descriptor claims (digest, size, media type) come from the OCI manifest.
            for (l, d) in image.layers.iter_mut().zip(&o.layers) {
                l.digest = d.digest.clone();
                l.size = d.size;
                l.media_type = d.media_type.clone();
            }
        }
        for t in &o.repo_tags {
            if !t.starts_with("<none>") && !image.repo_tags.contains(t) {
                ctx.finding(Severity::Info, Message::new(Code::IndexAlsoNames).with("tag", t), image.source.clone());
            }
        }
    }
    for (o, m) in oci.into_iter().zip(matched) {
        if !m {
            let name = o.repo_tags.first().cloned().unwrap_or_else(|| o.id.clone());
            ctx.finding(Severity::Info, Message::new(Code::IndexExtraImage).with("image", name), o.source.clone());
            images.push(o);
        }
    }
}

fn short(list: &[Option<String>]) -> Vec<String> {
    list.iter()
        .map(|d| d.as_deref().and_then(digest_hex).map(|h| h[..12].to_owned()).unwrap_or_else(|| "?".into()))
        .collect()
}

// --- pre-1.10: repositories + <id>/json chains -----------------------------------------

fn pre_110(ctx: &mut Ctx<'_>) -> Vec<ImagePlan> {
    let Some((doc, _)) = ctx.json("repositories") else { return Vec::new() };
    let Some(repos) = doc.as_object() else {
        ctx.finding(Severity::Error, Code::RepositoriesNotObject, "repositories");
        return Vec::new();
    };
    // Several tags may point at the same top layer: one image, several tags.
    let mut by_top: Vec<(String, Vec<String>)> = Vec::new();
    for (repo, tags) in repos {
        let Some(tags) = tags.as_object() else { continue };
        for (tag, id) in tags {
            let Some(id) = id.as_str() else { continue };
            let name = short_reference(&format!("{repo}:{tag}"));
            match by_top.iter_mut().find(|(t, _)| t == id) {
                Some((_, names)) => names.push(name),
                None => by_top.push((id.to_owned(), vec![name])),
            }
        }
    }
    ctx.finding(Severity::Info, Code::Pre110NoDigests, "repositories");
    let mut images = Vec::new();
    for (top, tags) in by_top.into_iter().take(MAX_IMAGES) {
        let mut chain = Vec::new(); // top → bottom
        let mut seen = HashSet::new();
        let mut next = Some(top.clone());
        while let Some(id) = next.take() {
            if !seen.insert(id.clone()) || chain.len() >= MAX_LAYERS {
                ctx.finding(Severity::Error, Message::new(Code::ParentChainLoop).with("image", &top), format!("{id}/json"));
                break;
            }
            let Some((json, _)) = ctx.json(&format!("{id}/json")) else { break };
            next = string(json.get("parent")).filter(|p| !p.is_empty());
            chain.push((id, json));
        }
        let Some((_, top_json)) = chain.first() else { continue };
        let mut image = ImagePlan {
            repo_tags: tags,
            source: "repositories".into(),
            id: top.clone(),
            config: top_json.clone(),
            no_digests: true,
            ..Default::default()
        };
        image.platform = Platform {
            os: string(top_json.get("os")),
            architecture: string(top_json.get("architecture")),
            variant: None,
        };
        let mut history = Vec::new();
        for (i, (id, json)) in chain.iter().rev().enumerate() {
            let path = format!("{id}/layer.tar");
            let mut layer = LayerPlan { path: Some(path.clone()), ..Default::default() };
            match ctx.files.index().resolve_file(&path) {
                Ok(e) => layer.entry = Some(e),
                Err(why) => {
                    let missing = Message::new(Code::LayerMissing).with("layer", i).with("why", why.clone());
                    ctx.finding(Severity::Error, missing, path);
                    layer.missing_why = Some(why);
                }
            }
            image.layers.push(layer);
            let cmd = json
                .get("container_config")
                .and_then(|c| c.get("Cmd"))
                .map(|c| strings(Some(c)).join(" "))
                .filter(|c| !c.is_empty());
            history.push(HistoryEntry {
                index: i,
                created: string(json.get("created")),
                created_by: cmd,
                comment: string(json.get("comment")),
                author: string(json.get("author")),
                empty_layer: false,
                layer: Some(i),
            });
        }
        image.history_override = Some(history);
        images.push(image);
    }
    images
}
