//! rpm: the SQLite database (`/var/lib/rpm/rpmdb.sqlite`, or `/usr/lib/sysimage/rpm/`),
//! table `Packages (hnum INTEGER PRIMARY KEY, blob BLOB)`, each blob an rpm header as
//! rpm keeps it in its database: index count and data size (big-endian u32 each), the
//! index entries (tag, type, offset, count), then the data store.
//! The same blobs sit in the older databases: Berkeley DB's hash `Packages`
//! ([`parse_bdb`], read by [`super::rpm_bdb`]) and NDB's `Packages.db` ([`parse_ndb`],
//! read by [`super::rpm_ndb`]).

use super::rpm_bdb::Record;
use super::sqlite::{Db, Value};
use super::{Limits, Package, PackageType, Parsed};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// An rpm header's entries of interest.
#[derive(Default)]
struct Header {
    name: Option<String>,
    version: Option<String>,
    release: Option<String>,
    epoch: Option<u32>,
    license: Option<String>,
    arch: Option<String>,
    source_rpm: Option<String>,
}

/// Parse one header blob (without the 8-byte magic of a header in a package file).
fn header(blob: &[u8]) -> Result<Header, String> {
    let be = |at: usize| blob.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let (il, dl) = (be(0).ok_or("header cut off")? as usize, be(4).ok_or("header cut off")? as usize);
    if il > 100_000 || dl > 256 << 20 {
        return Err(format!("header claims {il} entries and {dl} data bytes"));
    }
    let data_start = 8 + il * 16;
    if data_start + dl > blob.len() {
        return Err(format!("header of {il} entries and {dl} data bytes is longer than its {} bytes", blob.len()));
    }
    let data = &blob[data_start..data_start + dl];
    let mut h = Header::default();
    for i in 0..il {
        let e = 8 + i * 16;
        let (tag, kind, offset) = (be(e).unwrap_or(0), be(e + 4).unwrap_or(0), be(e + 8).unwrap_or(0) as usize);
        let string = || -> Option<String> {
            let rest = data.get(offset..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&rest[..end]).into_owned())
        };
        let is_string = kind == TYPE_STRING || kind == TYPE_I18NSTRING;
        match tag {
            TAG_NAME if is_string => h.name = string(),
            TAG_VERSION if is_string => h.version = string(),
            TAG_RELEASE if is_string => h.release = string(),
            TAG_LICENSE if is_string => h.license = string(),
            TAG_ARCH if is_string => h.arch = string(),
            TAG_SOURCERPM if is_string => h.source_rpm = string(),
            TAG_EPOCH if kind == TYPE_INT32 => h.epoch = offset.checked_add(4).and_then(|end| data.get(offset..end)).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            _ => {}
        }
    }
    Ok(h)
}

/// The package a header blob describes; `Ok(None)` for an imported key (`gpg-pubkey`:
/// `rpm -qa` lists them, but they are not packages).
fn package(blob: &[u8], location: &str) -> Result<Option<Package>, String> {
    let h = header(blob)?;
    let (Some(name), Some(version)) = (h.name, h.version) else {
        return Err("the header has no name or version".into());
    };
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    // As rpm shows it: [epoch:]version-release.
    let mut full = String::new();
    if let Some(e) = h.epoch {
        full.push_str(&format!("{e}:"));
    }
    full.push_str(&version);
    if let Some(r) = &h.release {
        full.push('-');
        full.push_str(r);
    }
    let mut p = Package::new(PackageType::Rpm, name, full, location);
    p.arch = h.arch;
    p.licenses = h.license.into_iter().collect();
    p.source = h.source_rpm;
    Ok(Some(p))
}

/// Collects the packages of one database's header blobs, with the cap on their count.
struct Collect<'l> {
    limits: &'l Limits,
    location: &'l str,
    packages: Vec<Package>,
    problems: Vec<String>,
}

impl Collect<'_> {
    /// Take the blob of record `what` ("row 3", "header 12"); false once the cap is reached.
    fn blob(&mut self, what: &str, blob: &[u8]) -> bool {
        match package(blob, self.location) {
            Ok(Some(p)) => {
                if self.packages.len() >= self.limits.max_packages {
                    self.problems.push(format!("more than {} packages: the rest are left out", self.limits.max_packages));
                    return false;
                }
                self.packages.push(p);
            }
            Ok(None) => {}
            Err(e) => self.problems.push(format!("{what}: {e}")),
        }
        true
    }

    /// Take a record of a Berkeley DB or NDB walk.
    fn record(&mut self, record: Record, what: &str) -> bool {
        match record.data {
            Ok(blob) => self.blob(&format!("{what} {}", record.key), &blob),
            Err(e) => {
                self.problems.push(e);
                true
            }
        }
    }

    fn done(self, walked: Result<(), String>) -> Parsed {
        let mut problems = self.problems;
        // A damaged page stops the walk; what was read before it is kept.
        if let Err(e) = walked {
            problems.push(e);
        }
        Parsed { packages: self.packages, problems, owned_python: Vec::new() }
    }
}

/// Read the Packages table through `read_at` (the file, `size` bytes).
pub fn parse_sqlite(read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64, location: &str, limits: &Limits) -> Result<Parsed, String> {
    let mut db = Db::open(read_at, size)?;
    let root = db.table_root("Packages")?.ok_or("no Packages table")?;
    let mut collect = Collect { limits, location, packages: Vec::new(), problems: Vec::new() };
    let walked = db.walk_table(root, &mut |rowid, columns| {
        let Some(Value::Blob(blob)) = columns.get(1) else {
            collect.problems.push(format!("row {rowid} of Packages has no header blob"));
            return Ok(true);
        };
        Ok(collect.blob(&format!("row {rowid}"), blob))
    });
    Ok(collect.done(walked))
}

/// Read a Berkeley DB hash `Packages` through `read_at` (the file, `size` bytes).
/// Header number 0, where old rpm kept its next free number, is no package.
pub fn parse_bdb(read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64, location: &str, limits: &Limits) -> Result<Parsed, String> {
    let mut collect = Collect { limits, location, packages: Vec::new(), problems: Vec::new() };
    let mut records = 0usize;
    let walked = super::rpm_bdb::walk(read_at, size, &mut |record| {
        records += 1;
        if record.key == 0 && record.data.is_ok() {
            return true;
        }
        collect.record(record, "header")
    });
    // A file that is not a database at all says so alone.
    if records == 0 {
        walked.clone()?;
    }
    Ok(collect.done(walked))
}

/// Read an NDB `Packages.db` through `read_at` (the file, `size` bytes).
pub fn parse_ndb(read_at: impl FnMut(u64, &mut [u8]) -> Result<(), String>, size: u64, location: &str, limits: &Limits) -> Result<Parsed, String> {
    let mut collect = Collect { limits, location, packages: Vec::new(), problems: Vec::new() };
    let mut records = 0usize;
    let walked = super::rpm_ndb::walk(read_at, size, &mut |record| {
        records += 1;
        collect.record(record, "package")
    });
    if records == 0 {
        walked.clone()?;
    }
    Ok(collect.done(walked))
}
