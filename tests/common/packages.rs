//! Helpers shared by the package tests (`tests/packages.rs`, `tests/packages_rpm.rs`):
//! tools that may be missing, running them, scratch directories, scanning an archive's
//! packages, and rpm packages and databases made by Debian's `rpm`.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata::merge::source::{image_layers, ArchiveSource};
use strata::packages::{scan_image, ImagePackages, Limits, PackageType};
use strata::Archive;

pub fn tool_present(name: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Whether the tools are there; when not, skip (or fail under STRATA_REQUIRE_TOOLS).
pub fn tools(names: &[&str], test: &str) -> bool {
    let missing: Vec<&str> = names.iter().copied().filter(|t| !tool_present(t)).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(std::env::var_os("STRATA_REQUIRE_TOOLS").is_none(), "STRATA_REQUIRE_TOOLS is set but {missing:?} not installed (run ./build.sh setup)");
    eprintln!("SKIPPED {test}: {missing:?} not installed (set STRATA_REQUIRE_TOOLS=1 to make this a failure)");
    false
}

/// Run `cmd`, fail the test if it fails; its stdout.
pub fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(o.status.success(), "{cmd:?} failed ({}):\n{}\n{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An empty directory for one test, below the test target's own (`packages/NAME`,
/// `packages_rpm/NAME`).
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(env!("CARGO_CRATE_NAME")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Scan the first image of an archive, as of `upto` (all layers when None).
pub fn scan_archive(bytes: &[u8], upto: Option<usize>, limits: &Limits) -> ImagePackages {
    let mut src = Cursor::new(bytes.to_vec());
    let mut ar = Archive::open(&mut src, &mut |_| {}).unwrap();
    ar.verify(&mut src, &mut |_| {}).unwrap();
    let img = ar.report().images[0].clone();
    let layers = image_layers(&ar, &img);
    let n = upto.map(|k| k + 1).unwrap_or(layers.indexes.len());
    let mut source = ArchiveSource::new(&ar, &mut src, layers.blobs.clone());
    scan_image(&layers.indexes[..n], &mut source, limits)
}

/// The (name, version) pairs of one type, sorted.
pub fn names_versions(found: &ImagePackages, kind: PackageType) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = found.packages.iter().filter(|p| p.kind == kind).map(|p| (p.name.clone(), p.version.clone())).collect();
    v.sort();
    v
}

/// An rpm built by rpmbuild: `files` files (400 make a header of ~40 KB: past one SQLite
/// page, so overflow pages; in Berkeley DB, overflow pages too).
pub fn make_rpm(top: &Path, name: &str, epoch: Option<u32>, version: &str, files: usize) -> PathBuf {
    for d in ["SPECS", "BUILD", "RPMS", "SOURCES", "SRPMS"] {
        std::fs::create_dir_all(top.join(d)).unwrap();
    }
    let epoch = epoch.map(|e| format!("Epoch: {e}\n")).unwrap_or_default();
    let spec = format!(
        "Name: {name}\nVersion: {version}\nRelease: 1\n{epoch}Summary: t\nLicense: MIT\nBuildArch: noarch\n%description\nt\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\nfor i in $(seq 1 {files}); do echo $i > %{{buildroot}}/usr/share/{name}/file-with-a-long-name-$i; done\n%files\n/usr/share/{name}\n"
    );
    let spec_path = top.join(format!("SPECS/{name}-{version}.spec"));
    std::fs::write(&spec_path, spec).unwrap();
    run(Command::new("rpmbuild").arg("--define").arg(format!("_topdir {}", top.display())).arg("-bb").arg(&spec_path));
    top.join(format!("RPMS/noarch/{name}-{version}-1.noarch.rpm"))
}

/// `rpm -qa` of the database in `db`, as (name, [epoch:]version-release), sorted;
/// `backend`: rpm's `_db_backend` when not its default (sqlite).
pub fn rpm_qa(db: &Path, backend: Option<&str>) -> Vec<(String, String)> {
    let mut cmd = Command::new("rpm");
    cmd.arg("--dbpath").arg(db);
    if let Some(backend) = backend {
        cmd.arg("--define").arg(format!("_db_backend {backend}"));
    }
    let out = run(cmd.args(["-qa", "--qf", "%{NAME}|%{EPOCH}:%{VERSION}-%{RELEASE}\n"]));
    let mut v: Vec<(String, String)> = out
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(n, v)| (n.to_string(), v.strip_prefix("(none):").unwrap_or(v).to_string()))
        .collect();
    v.sort();
    v
}
