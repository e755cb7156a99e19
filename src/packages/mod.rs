//! Packages per layer: which layer brought which package, read from the package managers'
//! own databases inside an image (issue 25).
//!
//! One file per ecosystem, each a pure parser over bytes: [`dpkg`], [`apk`], [`python`],
//! [`npm`]; the OS from [`os_release`]; package URLs in [`purl`]; SPDX and CycloneDX in
//! [`sbom`]. Nothing here does I/O of its own: [`scan_image`] takes an image's layer
//! indexes and a [`ContentSource`] (the CLI's archive, the page's worker) and asks it for
//! the bytes of the few files it needs, as of a layer.
//!
//! Per layer, only the databases that layer touched are read again: a layer that writes
//! no package database, deletes nothing and replaces no directory above one leaves the
//! package set as it was, and costs one pass over its entry names.

pub mod apk;
pub mod dpkg;
pub mod golang;
pub mod maven;
pub mod npm;
pub mod os_release;
pub mod purl;
pub mod python;
pub mod rpm;
pub mod rpm_bdb;
pub mod rpm_ndb;
pub mod sbom;
pub mod sqlite;

use crate::codes::{Code, Message, Params};
use crate::layer::{display_path, EntryKind, LayerEntry, LayerIndex};
use crate::merge::read::{file_content, ContentSource};
use crate::merge::MergedTree;
use os_release::OsInfo;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};

/// The package URL type of a package (`pkg:<type>/…`), which is also its ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageType {
    Deb,
    Apk,
    Rpm,
    Pypi,
    Npm,
    Golang,
    Maven,
}

impl PackageType {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageType::Deb => "deb",
            PackageType::Apk => "apk",
            PackageType::Rpm => "rpm",
            PackageType::Pypi => "pypi",
            PackageType::Npm => "npm",
            PackageType::Golang => "golang",
            PackageType::Maven => "maven",
        }
    }

    /// OS packages are one per name and architecture in the whole image; language
    /// packages may sit in several places at once (nested `node_modules`, two virtualenvs).
    pub fn is_os(self) -> bool {
        matches!(self, PackageType::Deb | PackageType::Apk | PackageType::Rpm)
    }
}

/// One installed package, as its package manager records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    #[serde(rename = "type")]
    pub kind: PackageType,
    pub name: String,
    /// As the package manager prints it (dpkg's `${Version}`, epoch included).
    pub version: String,
    pub arch: Option<String>,
    /// 0-based index of the layer that installed this version.
    pub layer: usize,
    pub purl: String,
    pub licenses: Vec<String>,
    /// The source package (dpkg `Source:`, apk origin), when it differs or is recorded.
    pub source: Option<String>,
    /// The file it was read from (`/var/lib/dpkg/status`, a `METADATA`, a `package.json`).
    #[serde(skip)]
    pub location: String,
}

impl Package {
    /// A package read from `location`, before the scan sets its layer and purl.
    pub fn new(kind: PackageType, name: String, version: String, location: &str) -> Package {
        Package { kind, name, version, arch: None, layer: 0, purl: String::new(), licenses: Vec::new(), source: None, location: location.to_string() }
    }

    /// What identifies "the same package" from one layer to the next: an upgrade keeps
    /// the key and changes the version.
    fn key(&self) -> PackageKey {
        PackageKey {
            kind: self.kind,
            name: self.name.clone(),
            arch: self.arch.clone().unwrap_or_default(),
            location: if self.kind.is_os() { String::new() } else { self.location.clone() },
        }
    }

    fn short(&self) -> PackageRef {
        PackageRef { kind: self.kind, name: self.name.clone(), version: self.version.clone(), arch: self.arch.clone() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PackageKey {
    kind: PackageType,
    name: String,
    arch: String,
    location: String,
}

/// A package named in a layer's change list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    #[serde(rename = "type")]
    pub kind: PackageType,
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arch: Option<String>,
}

/// A package whose version a layer changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upgrade {
    #[serde(rename = "type")]
    pub kind: PackageType,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arch: Option<String>,
    pub from: String,
    pub to: String,
}

/// What one layer did to the package set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerChange {
    pub index: usize,
    pub added: Vec<PackageRef>,
    pub removed: Vec<PackageRef>,
    /// Old → new version ("upgraded" also when the new version is older: a downgrade).
    pub upgraded: Vec<Upgrade>,
    /// Packages in the image as of this layer.
    pub total: usize,
}

impl LayerChange {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.upgraded.is_empty()
    }
}

/// Something wrong with a package database: the file, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFinding {
    /// The layer as of which the file was read.
    pub layer: usize,
    /// `/var/lib/dpkg/status`.
    pub path: String,
    /// The English text (what the CLI prints).
    pub message: String,
    /// The same as a code with parameters, which the page words in its language. A reader's
    /// own description of the damage (`page 12 is not a b-tree page`) is the `detail`.
    pub code: Code,
    #[serde(default)]
    pub params: Params,
}

impl PackageFinding {
    fn new(layer: usize, path: String, what: Message) -> PackageFinding {
        let what = what.with("path", path.as_str());
        PackageFinding { layer, path, message: what.english(), code: what.code, params: what.params }
    }

    /// A package database or manifest a reader could not read (in full): `detail` says why.
    pub(crate) fn unreadable(layer: usize, path: String, detail: String) -> PackageFinding {
        PackageFinding::new(layer, path, Message::new(Code::PackageFileUnreadable).with("detail", detail))
    }
}

/// Everything the scan found in one image.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImagePackages {
    pub os: Option<OsInfo>,
    /// Sorted by type, name, architecture, version.
    pub packages: Vec<Package>,
    /// One per layer scanned, bottom first.
    pub layers: Vec<LayerChange>,
    pub findings: Vec<PackageFinding>,
}

/// Caps that keep a hostile image's databases from costing unbounded time or memory.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A package database (dpkg `status`, apk `installed`) over this is not read (a finding).
    /// They are parsed as streams, one paragraph at a time: memory does not grow with it.
    pub max_database_bytes: u64,
    /// One paragraph (one package's record) or one line of a database.
    pub max_record_bytes: usize,
    /// A language manifest (`METADATA`, `package.json`) over this is not read.
    pub max_manifest_bytes: u64,
    /// Packages in one image; past it the rest are left out (a finding).
    pub max_packages: usize,
    /// Files read as package sources in one image (each `package.json` is one).
    pub max_sources: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_database_bytes: 512 << 20,
            max_record_bytes: 1 << 20,
            max_manifest_bytes: 4 << 20,
            max_packages: 200_000,
            max_sources: 200_000,
        }
    }
}

/// Which reader a file is for, decided by its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    DpkgStatus,
    /// distroless: one control paragraph per file under `/var/lib/dpkg/status.d/`.
    DpkgStatusD,
    ApkInstalled,
    PythonMetadata,
    NpmPackageJson,
    /// `/var/lib/dpkg/info/<pkg>.list`: the files a dpkg package owns, read only for the
    /// Python metadata among them (a `python3-*` package's `.dist-info` is that deb, not a
    /// second, pypi package).
    DpkgFileList,
    /// rpm's SQLite database.
    RpmSqlite,
    /// rpm's Berkeley DB hash `Packages` (CentOS 7/8, old Fedora).
    RpmBdb,
    /// rpm's NDB `Packages.db` (openSUSE, SLE).
    RpmNdb,
    /// A jar (war, ear): the `pom.properties` inside.
    Jar,
    /// An executable big enough to be a Go binary: its build information, if any.
    GoBinary,
}

/// Executables below this are not looked at for Go build information (a Go binary is
/// over a megabyte: the runtime alone is).
const GO_BINARY_MIN_BYTES: u64 = 512 << 10;

/// Whether a layer entry may be a Go binary: decided by its header alone.
fn go_candidate(e: &LayerEntry) -> Option<SourceKind> {
    (e.kind == EntryKind::File && e.mode & 0o111 != 0 && e.size >= GO_BINARY_MIN_BYTES).then_some(SourceKind::GoBinary)
}

/// The files whose change can change the OS: re-read when a layer touches one.
const OS_PATHS: [&[u8]; 4] = [b"etc/os-release", b"usr/lib/os-release", b"etc/debian_version", b"etc/alpine-release"];

/// The reader for the file at `path` (normalised: no leading `/`), if it is a package source.
pub fn classify(path: &[u8]) -> Option<SourceKind> {
    match path {
        b"var/lib/dpkg/status" => return Some(SourceKind::DpkgStatus),
        b"lib/apk/db/installed" => return Some(SourceKind::ApkInstalled),
        b"var/lib/rpm/rpmdb.sqlite" | b"usr/lib/sysimage/rpm/rpmdb.sqlite" => return Some(SourceKind::RpmSqlite),
        b"var/lib/rpm/Packages" | b"usr/lib/sysimage/rpm/Packages" => return Some(SourceKind::RpmBdb),
        b"var/lib/rpm/Packages.db" | b"usr/lib/sysimage/rpm/Packages.db" => return Some(SourceKind::RpmNdb),
        _ => {}
    }
    if let Some(name) = path.strip_prefix(b"var/lib/dpkg/info/") {
        if name.ends_with(b".list") && !name.contains(&b'/') && name.len() > 5 {
            return Some(SourceKind::DpkgFileList);
        }
        return None;
    }
    if let Some(name) = path.strip_prefix(b"var/lib/dpkg/status.d/") {
        // `<pkg>` holds the paragraph; distroless also writes `<pkg>.md5sums` beside it.
        if !name.is_empty() && !name.contains(&b'/') && !name.ends_with(b".md5sums") && !name.starts_with(b".") {
            return Some(SourceKind::DpkgStatusD);
        }
        return None;
    }
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let n = parts.len();
    let last = parts[n - 1];
    if n >= 2 {
        let dir = parts[n - 2];
        if (last == b"METADATA" && dir.ends_with(b".dist-info") && dir.len() > 10)
            || (last == b"PKG-INFO" && dir.ends_with(b".egg-info") && dir.len() > 9)
        {
            return Some(SourceKind::PythonMetadata);
        }
    }
    // An `.egg-info` that is a file (distutils) holds PKG-INFO itself; `site-packages` or
    // `dist-packages` must hold it, so a stray file of that name elsewhere is not taken.
    if last.ends_with(b".egg-info") && last.len() > 9 && n >= 2 && (parts[n - 2] == b"site-packages" || parts[n - 2] == b"dist-packages") {
        return Some(SourceKind::PythonMetadata);
    }
    if (last.ends_with(b".jar") || last.ends_with(b".war") || last.ends_with(b".ear")) && last.len() > 4 {
        return Some(SourceKind::Jar);
    }
    if last == b"package.json" && n >= 3 {
        let name = parts[n - 2];
        if parts[n - 3] == b"node_modules" && !name.is_empty() && !name.starts_with(b".") && !name.starts_with(b"@") {
            return Some(SourceKind::NpmPackageJson);
        }
        if n >= 4 && parts[n - 4] == b"node_modules" && parts[n - 3].starts_with(b"@") && parts[n - 3].len() > 1 && !name.is_empty() && !name.starts_with(b".") {
            return Some(SourceKind::NpmPackageJson);
        }
    }
    None
}

/// What one source file yielded: its packages, and what was wrong in it.
#[derive(Default)]
pub struct Parsed {
    pub packages: Vec<Package>,
    pub problems: Vec<String>,
    /// Python metadata paths (`/usr/lib/python3/dist-packages/x-1.dist-info`) an OS
    /// package owns: those distributions are not listed again as pypi packages.
    pub owned_python: Vec<String>,
}

/// What the scan keeps of one source file.
struct SourceData {
    kind: SourceKind,
    packages: Vec<Package>,
    owned_python: Vec<String>,
}

/// Scan every layer of an image (bottom first): the package set as of each layer, what
/// each layer changed, and for each package the layer that installed its current version.
/// `layers` are the image's layer indexes; `src` hands out entry bytes by layer number
/// (`merge::source::ArchiveSource` in the CLI). Scanning `&layers[..=k]` gives the image
/// as of layer `k`.
pub fn scan_image(layers: &[&LayerIndex], src: &mut dyn ContentSource, limits: &Limits) -> ImagePackages {
    let mut scan = Scan { limits, sources: BTreeMap::new(), findings: Vec::new(), source_cap_noted: false };
    let mut os: Option<OsInfo> = None;
    let mut current: BTreeMap<PackageKey, Package> = BTreeMap::new();
    let mut changes = Vec::with_capacity(layers.len());
    let mut package_cap_noted = false;
    // Directories above every known source: a layer that puts a non-directory there (or a
    // symlink) takes the sources below away.
    let mut ancestors: HashSet<Vec<u8>> = HashSet::new();
    let mut ancestors_stale = true;
    for k in 0..layers.len() {
        if ancestors_stale {
            ancestors = ancestor_dirs(scan.sources.keys().map(|p| p.as_slice()).chain(OS_PATHS.iter().copied()));
            ancestors_stale = false;
        }
        let touches = what_layer_touches(layers[k], &ancestors, &scan.sources);
        for path in &touches.wal {
            scan.findings.push(PackageFinding::new(k, format!("/{}", display_path(path)), Message::new(Code::PackageDbWal)));
        }
        if touches.sources.is_empty() && !touches.structural && !touches.os {
            changes.push(LayerChange { index: k, total: current.len(), ..LayerChange::default() });
            continue;
        }
        let upto = &layers[..=k];
        // The merged tree as of this layer is needed to see deletions, symlinks and
        // hardlinks; a layer that only writes database files as plain files (an
        // `apt-get install`, an `npm ci`) is read from its own entries, without one.
        let tree = if touches.structural || touches.os || !touches.plain_files_only(layers[k]) { Some(MergedTree::build(upto)) } else { None };
        if let (true, Some(tree)) = (touches.structural, &tree) {
            // Whiteouts, opaque directories, replaced directories: keep only the sources
            // still there as files.
            let before = scan.sources.len();
            scan.sources.retain(|path, _| file_content(tree, upto, path).is_ok());
            ancestors_stale |= scan.sources.len() != before;
        }
        for (path, &(entry, kind)) in &touches.sources {
            let found = match &tree {
                Some(tree) => file_content(tree, upto, path).ok(),
                None => Some((k, &layers[k].entries[entry])),
            };
            scan.read_source(found, src, k, path, kind);
            ancestors_stale = true;
        }
        if let (true, Some(tree)) = (touches.structural || touches.os, &tree) {
            os = os_release::read(tree, upto, src, k, &mut scan.findings);
        }
        // The new set, each package keeping the layer of its version when unchanged.
        let owned_python: HashSet<&str> = scan.sources.values().flat_map(|s| s.owned_python.iter().map(String::as_str)).collect();
        // One rpm database counts, the one rpm itself would use: SQLite, else NDB, else
        // Berkeley DB (a conversion may leave the old one behind).
        let rpm_database = scan.sources.values().filter_map(|s| rpm_preference(s.kind)).max();
        let mut next: BTreeMap<PackageKey, Package> = BTreeMap::new();
        'sources: for data in scan.sources.values() {
            if rpm_preference(data.kind).is_some_and(|p| Some(p) != rpm_database) {
                continue;
            }
            for p in &data.packages {
                if p.kind == PackageType::Pypi && !owned_python.is_empty() && owned_python.contains(python::metadata_dir(&p.location)) {
                    continue;
                }
                if next.len() >= limits.max_packages {
                    if !package_cap_noted {
                        package_cap_noted = true;
                        let what = Message::new(Code::PackagesLimit).with("max", limits.max_packages as u64);
                        scan.findings.push(PackageFinding::new(k, format!("/{}", p.location.trim_start_matches('/')), what));
                    }
                    break 'sources;
                }
                next.entry(p.key()).or_insert_with(|| p.clone());
            }
        }
        let mut change = LayerChange { index: k, ..LayerChange::default() };
        for (key, p) in next.iter_mut() {
            match current.get(key) {
                Some(old) if old.version == p.version => p.layer = old.layer,
                Some(old) => {
                    p.layer = k;
                    change.upgraded.push(Upgrade { kind: p.kind, name: p.name.clone(), arch: p.arch.clone(), from: old.version.clone(), to: p.version.clone() });
                }
                None => {
                    p.layer = k;
                    change.added.push(p.short());
                }
            }
        }
        for (key, old) in &current {
            if !next.contains_key(key) {
                change.removed.push(old.short());
            }
        }
        change.total = next.len();
        changes.push(change);
        current = next;
    }
    let mut packages: Vec<Package> = current.into_values().collect();
    for p in &mut packages {
        p.purl = purl::purl(p, os.as_ref());
    }
    packages.sort_by(|a, b| (a.kind, &a.name, &a.arch, &a.version, &a.location).cmp(&(b.kind, &b.name, &b.arch, &b.version, &b.location)));
    ImagePackages { os, packages, layers: changes, findings: scan.findings }
}

/// What one layer does that can change the package set.
struct Touches {
    /// The package sources it writes: path → its last entry of that path in the layer,
    /// and the reader for it.
    sources: BTreeMap<Vec<u8>, (usize, SourceKind)>,
    /// It deletes (whiteouts, opaque markers) or replaces a directory above a known source.
    structural: bool,
    /// It writes an os-release (or point release) file.
    os: bool,
    /// Non-empty SQLite write-ahead logs beside an rpm database: rows there are not read.
    wal: Vec<Vec<u8>>,
}

impl Touches {
    /// Whether every source is a regular file of the layer and nothing else in the layer
    /// (a later entry replacing a parent directory with a file or a link) hides it: then
    /// the layer's own entries are what the merged tree would show.
    fn plain_files_only(&self, layer: &LayerIndex) -> bool {
        if self.sources.iter().any(|(_, &(i, _))| layer.entries[i].kind != EntryKind::File) {
            return false;
        }
        let parents = ancestor_dirs(self.sources.keys().map(|p| p.as_slice()));
        !layer.entries.iter().any(|e| e.kind != EntryKind::Dir && parents.contains(&*e.path))
    }
}

/// The sources one layer wrote, whether it deleted or replaced anything that could hold
/// one, and whether it wrote an OS release file.
fn what_layer_touches(layer: &LayerIndex, ancestors: &HashSet<Vec<u8>>, known: &BTreeMap<Vec<u8>, SourceData>) -> Touches {
    let mut touched = BTreeMap::new();
    let mut structural = false;
    let mut os_touched = false;
    let mut wal = Vec::new();
    for (i, e) in layer.entries.iter().enumerate() {
        let path: &[u8] = &e.path;
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        if name.starts_with(b".wh.") {
            structural = true;
            continue;
        }
        if OS_PATHS.contains(&path) {
            os_touched = true;
        }
        if e.kind != EntryKind::Dir && ancestors.contains(path) {
            structural = true;
        }
        if e.kind == EntryKind::File && e.size > 0 && path.ends_with(b"rpmdb.sqlite-wal") {
            wal.push(path.to_vec());
        }
        // A path read before is read again whatever it is now (a Go binary replaced by a
        // script holds no packages any more).
        let kind = classify(path).or_else(|| go_candidate(e)).or_else(|| known.get(path).map(|d| d.kind));
        if let (true, Some(kind)) = (matches!(e.kind, EntryKind::File | EntryKind::Hardlink | EntryKind::Symlink), kind) {
            touched.insert(path.to_vec(), (i, kind));
        } else if touched.contains_key(path) {
            // A later entry of the same path that is no source (a directory): not one now.
            touched.remove(path);
            structural = true;
        }
    }
    Touches { sources: touched, structural, os: os_touched, wal }
}

/// How much rpm prefers a database kind (higher wins), `None` for other sources.
fn rpm_preference(kind: SourceKind) -> Option<u8> {
    match kind {
        SourceKind::RpmSqlite => Some(3),
        SourceKind::RpmNdb => Some(2),
        SourceKind::RpmBdb => Some(1),
        _ => None,
    }
}

fn ancestor_dirs<'p>(paths: impl Iterator<Item = &'p [u8]>) -> HashSet<Vec<u8>> {
    let mut out = HashSet::new();
    for p in paths {
        for (i, &b) in p.iter().enumerate() {
            if b == b'/' {
                out.insert(p[..i].to_vec());
            }
        }
    }
    out
}

struct Scan<'l> {
    limits: &'l Limits,
    /// Packages of each source file, by its path.
    sources: BTreeMap<Vec<u8>, SourceData>,
    findings: Vec<PackageFinding>,
    source_cap_noted: bool,
}

impl Scan<'_> {
    /// Read the source at `path` as of layer `k` (`found`: its file, the layer and entry
    /// holding its bytes), replacing what it held before.
    fn read_source(&mut self, found: Option<(usize, &LayerEntry)>, src: &mut dyn ContentSource, k: usize, path: &[u8], kind: SourceKind) {
        let shown = format!("/{}", display_path(path));
        if !self.sources.contains_key(path) && self.sources.len() >= self.limits.max_sources {
            if !self.source_cap_noted {
                self.source_cap_noted = true;
                let what = Message::new(Code::PackageSourcesLimit).with("max", self.limits.max_sources as u64);
                self.findings.push(PackageFinding::new(k, shown, what));
            }
            return;
        }
        let (layer, entry) = match found {
            Some(found) => found,
            // A symlink to nowhere, a hardlink to a device: nothing to read, no packages.
            None => {
                self.sources.remove(path);
                return;
            }
        };
        let parsed = match read_and_parse(kind, src, layer, entry, &shown, self.limits) {
            Ok(parsed) => parsed,
            Err(message) => {
                self.findings.push(PackageFinding::unreadable(k, shown, message));
                self.sources.remove(path);
                return;
            }
        };
        for message in parsed.problems {
            self.findings.push(PackageFinding::unreadable(k, shown.clone(), message));
        }
        self.sources.insert(path.to_vec(), SourceData { kind, packages: parsed.packages, owned_python: parsed.owned_python });
    }
}

fn read_and_parse(kind: SourceKind, src: &mut dyn ContentSource, layer: usize, entry: &LayerEntry, shown: &str, limits: &Limits) -> Result<Parsed, String> {
    let cap = match kind {
        SourceKind::DpkgStatus | SourceKind::ApkInstalled | SourceKind::DpkgFileList | SourceKind::RpmSqlite | SourceKind::RpmBdb | SourceKind::RpmNdb | SourceKind::Jar | SourceKind::GoBinary => {
            limits.max_database_bytes
        }
        _ => limits.max_manifest_bytes,
    };
    if entry.size > cap {
        return Err(format!("{} bytes, more than the {} bytes strata reads of such a file: not read", entry.size, cap));
    }
    if matches!(kind, SourceKind::RpmSqlite | SourceKind::RpmBdb | SourceKind::RpmNdb | SourceKind::Jar | SourceKind::GoBinary) {
        // Pages (a jar's directory and members) are read where they are, one at a time.
        let read_at = |offset: u64, buf: &mut [u8]| -> Result<(), String> {
            let mut r = src.open_entry_from(layer, entry, offset).map_err(|e| e.to_string())?;
            r.read_exact(buf).map_err(|e| format!("cannot be read: {e}"))
        };
        return match kind {
            SourceKind::Jar => maven::parse_jar(read_at, entry.size, shown, limits),
            SourceKind::GoBinary => golang::parse_binary(read_at, entry.size, shown, limits),
            SourceKind::RpmBdb => rpm::parse_bdb(read_at, entry.size, shown, limits),
            SourceKind::RpmNdb => rpm::parse_ndb(read_at, entry.size, shown, limits),
            _ => rpm::parse_sqlite(read_at, entry.size, shown, limits),
        };
    }
    let reader = src.open_entry(layer, entry).map_err(|e| format!("cannot be read: {e}"))?;
    let mut reader = BufReader::new(reader.take(cap));
    match kind {
        SourceKind::DpkgStatus | SourceKind::DpkgStatusD => dpkg::parse(&mut reader, shown, limits),
        SourceKind::ApkInstalled => apk::parse(&mut reader, shown, limits),
        SourceKind::PythonMetadata => python::parse(&read_all(&mut reader)?, shown),
        SourceKind::NpmPackageJson => npm::parse(&read_all(&mut reader)?, shown),
        SourceKind::DpkgFileList => dpkg::parse_file_list(&mut reader, limits),
        SourceKind::RpmSqlite | SourceKind::RpmBdb | SourceKind::RpmNdb | SourceKind::Jar | SourceKind::GoBinary => Err("read piece by piece, not as a stream".into()),
    }
}

fn read_all(r: &mut dyn Read) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    r.read_to_end(&mut buf).map_err(|e| format!("cannot be read: {e}"))?;
    Ok(buf)
}

/// Paragraphs of `Key: value` fields, as dpkg and apk write them, read one at a time.
/// Lines are read with a cap, so memory stays one record whatever the file's size.
pub(crate) struct RecordReader<'r> {
    reader: &'r mut dyn BufRead,
    max_record_bytes: usize,
    /// 1-based number of the last line read.
    pub line: usize,
    done: bool,
}

impl<'r> RecordReader<'r> {
    pub(crate) fn new(reader: &'r mut dyn BufRead, max_record_bytes: usize) -> Self {
        RecordReader { reader, max_record_bytes, line: 0, done: false }
    }

    /// The next paragraph's lines (without their line ends), and the line it starts on.
    /// `Err` when a line or paragraph is over the cap or the read fails: the rest of the
    /// file is not read.
    pub(crate) fn next_record(&mut self) -> Result<Option<(usize, Vec<String>)>, String> {
        let mut lines = Vec::new();
        let mut bytes = 0usize;
        let mut start = 0;
        let mut buf = Vec::new();
        while !self.done {
            buf.clear();
            let n = (&mut *self.reader)
                .take(self.max_record_bytes as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(|e| format!("cannot be read past line {}: {e}", self.line))?;
            if n == 0 {
                self.done = true;
                break;
            }
            self.line += 1;
            if buf.last() != Some(&b'\n') && n > self.max_record_bytes {
                return Err(format!("line {} is longer than {} bytes: the rest of the file is not read", self.line, self.max_record_bytes));
            }
            while matches!(buf.last(), Some(b'\n' | b'\r')) {
                buf.pop();
            }
            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                if lines.is_empty() {
                    continue;
                }
                break;
            }
            bytes += buf.len();
            if bytes > self.max_record_bytes {
                return Err(format!("the record starting on line {start} is longer than {} bytes: the rest of the file is not read", self.max_record_bytes));
            }
            if lines.is_empty() {
                start = self.line;
            }
            lines.push(String::from_utf8_lossy(&buf).into_owned());
        }
        Ok(if lines.is_empty() { None } else { Some((start, lines)) })
    }
}

/// RFC 822-style fields (`Key: value`, continuation lines starting with a space or tab)
/// of one paragraph: (key, value of the first line, line offset), in order. Lines that are
/// neither are returned as problems ("line 12 is not a field").
pub(crate) fn fields(lines: &[String], first_line: usize) -> (Vec<(String, String)>, Vec<String>) {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if out.is_empty() {
                problems.push(format!("line {} continues a field but no field comes before it", first_line + i));
            }
            continue;
        }
        match line.split_once(':') {
            Some((key, value)) if !key.is_empty() && !key.contains(char::is_whitespace) => out.push((key.to_string(), value.trim().to_string())),
            _ => problems.push(format!("line {} is not a field (`Name: value`)", first_line + i)),
        }
    }
    (out, problems)
}

/// The first value of field `key` (case-insensitive, as dpkg reads them).
pub(crate) fn field<'f>(fields: &'f [(String, String)], key: &str) -> Option<&'f str> {
    fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}
