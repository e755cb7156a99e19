//! Fixture builder: writes image archives of every format strata reads, byte by byte,
//! so the tests (and the page's built-in sample) have inputs whose every digest is known.
//!
//! Test support, compiled natively only. Everything panics with a message on internal
//! errors (it only ever writes into memory).
//!
//! The pieces, bottom up:
//! - [`TarWriter`]: a raw tar writer (ustar headers, GNU or PAX long names, raw bytes for
//!   odd cases such as non-UTF-8 names or absurd sizes).
//! - [`LayerSpec`]: the entries of one layer (files, dirs, links, whiteouts, opaque dirs)
//!   and how it is stored (plain, gzip, zstd); [`LayerSpec::build`] gives a [`BuiltLayer`]
//!   with its `diff_id` and stored `digest`.
//! - [`ImageSpec`]: tags, layers, history and config; [`ImageSpec::build`] gives a
//!   [`BuiltImage`] with the config bytes, image ID and OCI manifest.
//! - Writers, one per format: [`docker_legacy`], [`docker_pre110`], [`docker_archive`],
//!   [`docker_oci`], [`docker_containerd`], [`oci_archive`]; each returns a [`Fixture`]
//!   (archive bytes plus what was written). [`Options`] selects variants and tampering.
//! - [`compress`] for whole-archive gzip/zstd/xz, [`OuterTar`] to edit a finished archive
//!   (flip a byte, drop or replace an entry), and [`sample_archive`] for the page.

use crate::report::Compression;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::io::Write;

// ---------------------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------------------

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// The hex part of a `sha256:<hex>` digest.
pub fn hex_of(digest: &str) -> &str {
    digest.strip_prefix("sha256:").unwrap_or(digest)
}

// ---------------------------------------------------------------------------------------
// Tar writing
// ---------------------------------------------------------------------------------------

/// How names longer than a ustar header holds are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LongNames {
    /// GNU `././@LongLink` entries (type `L` / `K`), as GNU tar and Go's archive/tar do.
    #[default]
    Gnu,
    /// PAX extended headers (type `x`) with `path=` / `linkpath=` records.
    Pax,
}

/// What kind of tar entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    Fifo,
    Char { major: u32, minor: u32 },
    Block { major: u32, minor: u32 },
    /// Any type flag, written as is.
    Other(u8),
}

impl Kind {
    fn flag(&self) -> u8 {
        match self {
            Kind::File => b'0',
            Kind::Hardlink => b'1',
            Kind::Symlink => b'2',
            Kind::Char { .. } => b'3',
            Kind::Block { .. } => b'4',
            Kind::Dir => b'5',
            Kind::Fifo => b'6',
            Kind::Other(f) => *f,
        }
    }
}

/// One tar entry. `path` and `link` are raw bytes (may be non-UTF-8).
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: Vec<u8>,
    pub kind: Kind,
    pub data: Vec<u8>,
    pub link: Vec<u8>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// PAX records written in an `x` header before this entry, as given (any bytes: a
    /// newline or NUL in a value, a record the ustar fields contradict).
    pub pax: Vec<(String, Vec<u8>)>,
}

/// Default mtime of fixture entries: 2024-01-02T03:04:05Z.
pub const MTIME: u64 = 1_704_164_645;

impl Entry {
    pub fn new(path: impl AsRef<[u8]>, kind: Kind) -> Entry {
        let mode = match kind {
            Kind::Dir => 0o755,
            Kind::Symlink => 0o777,
            _ => 0o644,
        };
        Entry { path: path.as_ref().to_vec(), kind, data: Vec::new(), link: Vec::new(), mode, uid: 0, gid: 0, mtime: MTIME, pax: Vec::new() }
    }
    pub fn file(path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> Entry {
        let mut e = Entry::new(path, Kind::File);
        e.data = data.as_ref().to_vec();
        e
    }
    pub fn dir(path: impl AsRef<[u8]>) -> Entry {
        Entry::new(path, Kind::Dir)
    }
    pub fn symlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Entry {
        let mut e = Entry::new(path, Kind::Symlink);
        e.link = target.as_ref().to_vec();
        e
    }
    pub fn hardlink(path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Entry {
        let mut e = Entry::new(path, Kind::Hardlink);
        e.link = target.as_ref().to_vec();
        e
    }
    pub fn mode(mut self, mode: u32) -> Entry {
        self.mode = mode;
        self
    }
    pub fn owner(mut self, uid: u64, gid: u64) -> Entry {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn mtime(mut self, mtime: u64) -> Entry {
        self.mtime = mtime;
        self
    }
    /// Precede the entry with a PAX record `key=value` (the ustar fields stay as they are).
    pub fn pax(mut self, key: &str, value: impl AsRef<[u8]>) -> Entry {
        self.pax.push((key.to_string(), value.as_ref().to_vec()));
        self
    }
}

/// Write `value` as zero-padded octal into `field`, NUL-terminated.
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let s = format!("{value:0width$o}");
    assert!(s.len() <= width, "value {value} does not fit a {width}-digit octal field");
    field[..width].copy_from_slice(s.as_bytes());
    field[width] = 0;
}

/// One raw 512-byte ustar header. `name`/`link` must already fit (≤ 100 bytes, or
/// ≤ 255 with a `/` split for names when `allow_prefix`). Returns None if it does not fit.
pub fn ustar_header(name: &[u8], link: &[u8], flag: u8, size: u64, e: &Entry) -> Option<[u8; 512]> {
    let mut h = [0u8; 512];
    if name.len() <= 100 {
        h[..name.len()].copy_from_slice(name);
    } else {
        // Try a prefix/name split at a '/'.
        let mut split = None;
        for (i, &b) in name.iter().enumerate() {
            if b == b'/' && i <= 155 && name.len() - i - 1 <= 100 && name.len() - i - 1 > 0 {
                split = Some(i);
                break;
            }
        }
        let i = split?;
        h[345..345 + i].copy_from_slice(&name[..i]);
        let rest = &name[i + 1..];
        h[..rest.len()].copy_from_slice(rest);
    }
    if link.len() > 100 {
        return None;
    }
    octal(&mut h[100..108], e.mode as u64);
    octal(&mut h[108..116], e.uid);
    octal(&mut h[116..124], e.gid);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], e.mtime);
    h[156] = flag;
    h[157..157 + link.len()].copy_from_slice(link);
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    if let Kind::Char { major, minor } | Kind::Block { major, minor } = e.kind {
        octal(&mut h[329..337], major as u64);
        octal(&mut h[337..345], minor as u64);
    } else {
        octal(&mut h[329..337], 0);
        octal(&mut h[337..345], 0);
    }
    set_checksum(&mut h);
    Some(h)
}

/// Recompute the checksum field of a 512-byte header.
pub fn set_checksum(h: &mut [u8; 512]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
}

fn pad(buf: &mut Vec<u8>) {
    let rem = buf.len() % 512;
    if rem != 0 {
        buf.resize(buf.len() + 512 - rem, 0);
    }
}

/// One PAX record, `"<len> <key>=<value>\n"` (the length counts itself).
pub fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    // "<len> <key>=<value>\n" where len counts itself.
    let body_len = 1 + key.len() + 1 + value.len() + 1;
    let mut len = body_len + 1;
    loop {
        let total = body_len + len.to_string().len();
        if total == len {
            break;
        }
        len = total;
    }
    let mut out = format!("{len} {key}=").into_bytes();
    out.extend_from_slice(value);
    out.push(b'\n');
    out
}

/// A tar writer into memory.
#[derive(Debug, Clone, Default)]
pub struct TarWriter {
    pub buf: Vec<u8>,
    pub long_names: LongNames,
}

impl TarWriter {
    pub fn new() -> TarWriter {
        TarWriter::default()
    }
    pub fn with_long_names(long_names: LongNames) -> TarWriter {
        TarWriter { buf: Vec::new(), long_names }
    }

    /// Append one entry (with GNU or PAX long-name entries when the names need them).
    pub fn entry(&mut self, e: &Entry) {
        let data: &[u8] = if e.kind == Kind::File || matches!(e.kind, Kind::Other(_)) { &e.data } else { &[] };
        let size = data.len() as u64;
        let flag = e.kind.flag();
        if !e.pax.is_empty() {
            let records: Vec<u8> = e.pax.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
            let meta = Entry::new(b"PaxHeaders/entry", Kind::Other(b'x'));
            let h = ustar_header(b"PaxHeaders/entry", b"", b'x', records.len() as u64, &meta).expect("pax header fits");
            self.buf.extend_from_slice(&h);
            self.buf.extend_from_slice(&records);
            pad(&mut self.buf);
        }
        let direct = if e.link.len() <= 100 { ustar_header(&e.path, &e.link, flag, size, e) } else { None };
        match direct {
            Some(h) => self.buf.extend_from_slice(&h),
            None => {
                let short_name: Vec<u8> = e.path.iter().copied().take(99).collect();
                let short_link: Vec<u8> = e.link.iter().copied().take(99).collect();
                match self.long_names {
                    LongNames::Gnu => {
                        if e.path.len() > 100 {
                            self.gnu_long(b'L', &e.path);
                        }
                        if e.link.len() > 100 {
                            self.gnu_long(b'K', &e.link);
                        }
                    }
                    LongNames::Pax => {
                        let mut records = Vec::new();
                        if e.path.len() > 100 {
                            records.extend(pax_record("path", &e.path));
                        }
                        if e.link.len() > 100 {
                            records.extend(pax_record("linkpath", &e.link));
                        }
                        let meta = Entry::new(b"PaxHeaders/entry", Kind::Other(b'x'));
                        let h = ustar_header(b"PaxHeaders/entry", b"", b'x', records.len() as u64, &meta)
                            .expect("pax header fits");
                        self.buf.extend_from_slice(&h);
                        self.buf.extend_from_slice(&records);
                        pad(&mut self.buf);
                    }
                }
                let h = ustar_header(&short_name, &short_link, flag, size, e).expect("short header fits");
                self.buf.extend_from_slice(&h);
            }
        }
        self.buf.extend_from_slice(data);
        pad(&mut self.buf);
    }

    fn gnu_long(&mut self, flag: u8, value: &[u8]) {
        let meta = Entry::new(b"././@LongLink", Kind::Other(flag));
        let mut v = value.to_vec();
        v.push(0);
        let mut h = ustar_header(b"././@LongLink", b"", flag, v.len() as u64, &meta).expect("longlink header fits");
        // GNU magic for GNU extensions.
        h[257..265].copy_from_slice(b"ustar  \0");
        set_checksum(&mut h);
        self.buf.extend_from_slice(&h);
        self.buf.extend_from_slice(&v);
        pad(&mut self.buf);
    }

    pub fn file(&mut self, path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) {
        self.entry(&Entry::file(path, data));
    }
    pub fn dir(&mut self, path: impl AsRef<[u8]>) {
        self.entry(&Entry::dir(path));
    }
    pub fn symlink(&mut self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) {
        self.entry(&Entry::symlink(path, target));
    }
    pub fn hardlink(&mut self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) {
        self.entry(&Entry::hardlink(path, target));
    }
    /// Append raw bytes (a hand-made header, garbage, ...).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
    /// The tar with its end-of-archive marker (two zero blocks).
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&[0u8; 1024]);
        self.buf
    }
    /// The tar without an end-of-archive marker.
    pub fn finish_without_end(self) -> Vec<u8> {
        self.buf
    }
}

// ---------------------------------------------------------------------------------------
// Compression
// ---------------------------------------------------------------------------------------

/// Compress `bytes`. Gzip and zstd are done in-process (flate2, ruzstd); xz shells out to
/// the `xz` binary and panics with a clear message if it is missing.
pub fn compress(bytes: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => bytes.to_vec(),
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(bytes).expect("gzip into memory");
            enc.finish().expect("gzip finish")
        }
        Compression::Zstd => ruzstd::encoding::compress_to_vec(bytes, ruzstd::encoding::CompressionLevel::Fastest),
        Compression::Xz => pipe_through(&["xz", "-c", "-6"], bytes),
        Compression::Bzip2 => pipe_through(&["bzip2", "-c"], bytes),
    }
}

/// A compress command (for [`LayerSpec::compressed_by`]) that writes `zstd:chunked`'s
/// shape (podman; `skopeo copy --dest-compress-format zstd:chunked`) with the real `zstd`:
/// many frames (one per 64 KiB piece of the tar, by `split --filter`) and skippable frames
/// (one first, one after every piece; chunked keeps its table of contents in them).
pub const ZSTD_CHUNKED_SHAPE: &[&str] = &[
    "sh",
    "-c",
    "printf '\\120\\052\\115\\030\\002\\000\\000\\000hi'; \
     split -b 65536 --filter=\"zstd -q -c -3; printf '\\132\\052\\115\\030\\003\\000\\000\\000toc'\" -",
];

/// Run `cmd` with `input` on stdin and return its stdout (panics if it fails).
pub fn pipe_through(cmd: &[&str], input: &[u8]) -> Vec<u8> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cmd[0]));
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait for child");
    let _ = writer.join();
    assert!(out.status.success(), "{} failed", cmd[0]);
    out.stdout
}

/// OCI media type of a layer stored with compression `c`.
pub fn oci_layer_media_type(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        _ => "application/vnd.oci.image.layer.v1.tar",
    }
}

// ---------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------

/// The entries of one layer and how it is stored.
#[derive(Debug, Clone, Default)]
pub struct LayerSpec {
    pub entries: Vec<Entry>,
    pub long_names: LongNames,
    /// Stored compression (in OCI blobs; in legacy formats a compressed `layer.tar`, as kaniko does).
    pub compression: Compression,
    /// Bytes appended after the end-of-archive marker (part of the diff_id).
    pub trailing: Vec<u8>,
    /// Leave out the end-of-archive marker.
    pub no_end_marker: bool,
    /// Compress with this command (stdin to stdout) instead of in-process, e.g. GNU gzip:
    /// flate2's zlib-rs encoder writes deflate blocks of megabytes, real tools ~16k symbols.
    pub compress_command: Option<Vec<String>>,
    /// The diff_id the config names instead of the stream's own (the stored bytes are
    /// right, the decompressed stream is not what the config says).
    pub claimed_diff_id: Option<String>,
}

impl LayerSpec {
    pub fn new() -> LayerSpec {
        LayerSpec::default()
    }
    pub fn entry(mut self, e: Entry) -> LayerSpec {
        self.entries.push(e);
        self
    }
    pub fn file(self, path: impl AsRef<[u8]>, data: impl AsRef<[u8]>) -> LayerSpec {
        self.entry(Entry::file(path, data))
    }
    pub fn file_mode(self, path: impl AsRef<[u8]>, data: impl AsRef<[u8]>, mode: u32) -> LayerSpec {
        self.entry(Entry::file(path, data).mode(mode))
    }
    pub fn dir(self, path: impl AsRef<[u8]>) -> LayerSpec {
        self.entry(Entry::dir(path))
    }
    pub fn symlink(self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> LayerSpec {
        self.entry(Entry::symlink(path, target))
    }
    pub fn hardlink(self, path: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> LayerSpec {
        self.entry(Entry::hardlink(path, target))
    }
    /// Delete `path` from lower layers: writes `<dir>/.wh.<name>`.
    pub fn whiteout(self, path: &str) -> LayerSpec {
        let (dir, name) = match path.trim_end_matches('/').rsplit_once('/') {
            Some((d, n)) => (format!("{d}/"), n.to_string()),
            None => (String::new(), path.trim_end_matches('/').to_string()),
        };
        self.entry(Entry::file(format!("{dir}.wh.{name}"), b""))
    }
    /// Make `dir` opaque: writes `<dir>/.wh..wh..opq`.
    pub fn opaque(self, dir: &str) -> LayerSpec {
        let dir = dir.trim_end_matches('/');
        self.entry(Entry::file(format!("{dir}/.wh..wh..opq"), b""))
    }
    /// Any entry, as is (duplicates, odd types, non-UTF-8 names).
    pub fn raw_entry(self, e: Entry) -> LayerSpec {
        self.entry(e)
    }
    /// Let the config name `diff_id` for this layer, whatever its stream hashes to.
    pub fn claims_diff_id(mut self, diff_id: &str) -> LayerSpec {
        self.claimed_diff_id = Some(diff_id.to_string());
        self
    }
    pub fn compressed(mut self, c: Compression) -> LayerSpec {
        self.compression = c;
        self
    }
    /// Stored as `c`, compressed by running `cmd` (see [`LayerSpec::compress_command`];
    /// e.g. [`ZSTD_CHUNKED_SHAPE`]).
    pub fn compressed_by(mut self, c: Compression, cmd: &[&str]) -> LayerSpec {
        self.compression = c;
        self.compress_command = Some(cmd.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn pax_names(mut self) -> LayerSpec {
        self.long_names = LongNames::Pax;
        self
    }

    /// The uncompressed layer tar.
    pub fn tar(&self) -> Vec<u8> {
        let mut w = TarWriter::with_long_names(self.long_names);
        for e in &self.entries {
            w.entry(e);
        }
        let mut out = if self.no_end_marker { w.finish_without_end() } else { w.finish() };
        out.extend_from_slice(&self.trailing);
        out
    }

    pub fn build(&self) -> BuiltLayer {
        let tar = self.tar();
        let stored = match &self.compress_command {
            Some(cmd) => pipe_through(&cmd.iter().map(String::as_str).collect::<Vec<_>>(), &tar),
            None => compress(&tar, self.compression),
        };
        BuiltLayer {
            diff_id: self.claimed_diff_id.clone().unwrap_or_else(|| digest(&tar)),
            digest: digest(&stored),
            media_type: oci_layer_media_type(self.compression).to_string(),
            compression: self.compression,
            tar,
            stored,
        }
    }
}

/// A layer as written: its uncompressed tar, stored bytes and digests.
#[derive(Debug, Clone)]
pub struct BuiltLayer {
    pub tar: Vec<u8>,
    pub stored: Vec<u8>,
    pub compression: Compression,
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
    /// sha256 of the stored bytes.
    pub digest: String,
    pub media_type: String,
}

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------

/// One `config.history` entry.
#[derive(Debug, Clone, Default)]
pub struct HistorySpec {
    pub created: Option<String>,
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub author: Option<String>,
    pub empty_layer: bool,
}

/// An image: tags, layers, history and config.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    /// `repo:tag` names (may be empty: saved by ID).
    pub tags: Vec<String>,
    pub layers: Vec<LayerSpec>,
    pub history: Vec<HistorySpec>,
    /// Leave `history` out of the config entirely.
    pub no_history: bool,
    pub created: String,
    pub author: Option<String>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub labels: Vec<(String, String)>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Value>,
    /// Replaces the computed config bytes entirely when set.
    pub raw_config: Option<Vec<u8>>,
}

impl Default for ImageSpec {
    fn default() -> Self {
        ImageSpec {
            tags: Vec::new(),
            layers: Vec::new(),
            history: Vec::new(),
            no_history: false,
            created: "2024-01-02T03:04:05Z".to_string(),
            author: None,
            os: "linux".to_string(),
            architecture: "amd64".to_string(),
            variant: None,
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()],
            cmd: None,
            entrypoint: None,
            working_dir: None,
            user: None,
            exposed_ports: Vec::new(),
            volumes: Vec::new(),
            labels: Vec::new(),
            stop_signal: None,
            healthcheck: None,
            raw_config: None,
        }
    }
}

impl ImageSpec {
    /// An image with these tags (`&[]` for an untagged image).
    pub fn new(tags: &[&str]) -> ImageSpec {
        ImageSpec { tags: tags.iter().map(|s| s.to_string()).collect(), ..ImageSpec::default() }
    }
    /// Add a layer made by `created_by` (one history entry).
    pub fn layer(mut self, layer: LayerSpec, created_by: &str) -> ImageSpec {
        self.layers.push(layer);
        self.history.push(HistorySpec { created_by: Some(created_by.to_string()), created: Some(self.created.clone()), ..Default::default() });
        self
    }
    /// Add a layer with no history entry (to make counts disagree).
    pub fn layer_only(mut self, layer: LayerSpec) -> ImageSpec {
        self.layers.push(layer);
        self
    }
    /// Add an `empty_layer` history entry (ENV, CMD, LABEL, ...).
    pub fn nop(mut self, created_by: &str) -> ImageSpec {
        self.history.push(HistorySpec {
            created_by: Some(created_by.to_string()),
            created: Some(self.created.clone()),
            empty_layer: true,
            ..Default::default()
        });
        self
    }
    pub fn history_entry(mut self, h: HistorySpec) -> ImageSpec {
        self.history.push(h);
        self
    }
    pub fn env(mut self, kv: &str) -> ImageSpec {
        self.env.push(kv.to_string());
        self
    }
    pub fn cmd(mut self, cmd: &[&str]) -> ImageSpec {
        self.cmd = Some(cmd.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn entrypoint(mut self, ep: &[&str]) -> ImageSpec {
        self.entrypoint = Some(ep.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn workdir(mut self, dir: &str) -> ImageSpec {
        self.working_dir = Some(dir.to_string());
        self
    }
    pub fn user(mut self, user: &str) -> ImageSpec {
        self.user = Some(user.to_string());
        self
    }
    pub fn expose(mut self, port: &str) -> ImageSpec {
        self.exposed_ports.push(port.to_string());
        self
    }
    pub fn volume(mut self, path: &str) -> ImageSpec {
        self.volumes.push(path.to_string());
        self
    }
    pub fn label(mut self, k: &str, v: &str) -> ImageSpec {
        self.labels.push((k.to_string(), v.to_string()));
        self
    }
    pub fn stop_signal(mut self, s: &str) -> ImageSpec {
        self.stop_signal = Some(s.to_string());
        self
    }
    pub fn healthcheck(mut self, h: Value) -> ImageSpec {
        self.healthcheck = Some(h);
        self
    }
    pub fn platform(mut self, os: &str, arch: &str, variant: Option<&str>) -> ImageSpec {
        self.os = os.to_string();
        self.architecture = arch.to_string();
        self.variant = variant.map(str::to_string);
        self
    }
    pub fn created(mut self, when: &str) -> ImageSpec {
        self.created = when.to_string();
        self
    }

    /// The container config object (`config` in the image config).
    pub fn container_config(&self) -> Value {
        let mut c = Map::new();
        if !self.env.is_empty() {
            c.insert("Env".into(), json!(self.env));
        }
        if let Some(cmd) = &self.cmd {
            c.insert("Cmd".into(), json!(cmd));
        }
        if let Some(ep) = &self.entrypoint {
            c.insert("Entrypoint".into(), json!(ep));
        }
        if let Some(w) = &self.working_dir {
            c.insert("WorkingDir".into(), json!(w));
        }
        if let Some(u) = &self.user {
            c.insert("User".into(), json!(u));
        }
        if !self.exposed_ports.is_empty() {
            let m: Map<String, Value> = self.exposed_ports.iter().map(|p| (p.clone(), json!({}))).collect();
            c.insert("ExposedPorts".into(), Value::Object(m));
        }
        if !self.volumes.is_empty() {
            let m: Map<String, Value> = self.volumes.iter().map(|p| (p.clone(), json!({}))).collect();
            c.insert("Volumes".into(), Value::Object(m));
        }
        if !self.labels.is_empty() {
            let m: Map<String, Value> = self.labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            c.insert("Labels".into(), Value::Object(m));
        }
        if let Some(s) = &self.stop_signal {
            c.insert("StopSignal".into(), json!(s));
        }
        if let Some(h) = &self.healthcheck {
            c.insert("Healthcheck".into(), h.clone());
        }
        Value::Object(c)
    }

    /// The image config JSON for these layers.
    pub fn config_json(&self, layers: &[BuiltLayer]) -> Value {
        let mut v = Map::new();
        v.insert("architecture".into(), json!(self.architecture));
        v.insert("os".into(), json!(self.os));
        if let Some(var) = &self.variant {
            v.insert("variant".into(), json!(var));
        }
        v.insert("created".into(), json!(self.created));
        if let Some(a) = &self.author {
            v.insert("author".into(), json!(a));
        }
        v.insert("config".into(), self.container_config());
        let diff_ids: Vec<&str> = layers.iter().map(|l| l.diff_id.as_str()).collect();
        v.insert("rootfs".into(), json!({"type": "layers", "diff_ids": diff_ids}));
        if !self.no_history {
            let h: Vec<Value> = self
                .history
                .iter()
                .map(|h| {
                    let mut m = Map::new();
                    if let Some(c) = &h.created {
                        m.insert("created".into(), json!(c));
                    }
                    if let Some(c) = &h.created_by {
                        m.insert("created_by".into(), json!(c));
                    }
                    if let Some(c) = &h.comment {
                        m.insert("comment".into(), json!(c));
                    }
                    if let Some(c) = &h.author {
                        m.insert("author".into(), json!(c));
                    }
                    if h.empty_layer {
                        m.insert("empty_layer".into(), json!(true));
                    }
                    Value::Object(m)
                })
                .collect();
            v.insert("history".into(), Value::Array(h));
        }
        Value::Object(v)
    }

    pub fn build(&self) -> BuiltImage {
        let layers: Vec<BuiltLayer> = self.layers.iter().map(LayerSpec::build).collect();
        let config = match &self.raw_config {
            Some(raw) => raw.clone(),
            None => serde_json::to_vec(&self.config_json(&layers)).expect("config to json"),
        };
        let id = digest(&config);
        let manifest = oci_manifest(&config, &layers, &[]);
        BuiltImage {
            tags: self.tags.clone(),
            manifest_digest: digest(&manifest),
            manifest,
            id,
            config,
            layers,
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
        }
    }
}

/// An OCI image manifest for this config and these layers; `foreign` lists layer
/// indexes written as non-distributable descriptors with URLs.
pub fn oci_manifest(config: &[u8], layers: &[BuiltLayer], foreign: &[usize]) -> Vec<u8> {
    let ls: Vec<Value> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if foreign.contains(&i) {
                json!({
                    "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                    "digest": l.digest, "size": l.stored.len(),
                    "urls": [format!("https://mcr.microsoft.com/v2/windows/blobs/{}", l.digest)]
                })
            } else {
                json!({"mediaType": l.media_type, "digest": l.digest, "size": l.stored.len()})
            }
        })
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": config.len()},
        "layers": ls
    }))
    .expect("manifest json")
}

/// An image as written.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub tags: Vec<String>,
    /// The config bytes as written into the archive (before any tampering).
    pub config: Vec<u8>,
    /// Image ID: `sha256:` of `config`.
    pub id: String,
    pub layers: Vec<BuiltLayer>,
    /// The OCI manifest (used by the OCI-layout writers).
    pub manifest: Vec<u8>,
    pub manifest_digest: String,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl BuiltImage {
    /// v1 layer IDs as legacy `docker save` names the layer directories (a chain).
    pub fn v1_ids(&self) -> Vec<String> {
        let mut parent = String::new();
        self.layers
            .iter()
            .map(|l| {
                let id = sha256_hex(format!("{parent}\n{}", l.diff_id).as_bytes());
                parent = id.clone();
                id
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// Archives
// ---------------------------------------------------------------------------------------

/// How `<id>/layer.tar` points at a root-level `<sha>.tar` (skopeo-style docker-archive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkStyle {
    #[default]
    Symlink,
    Hardlink,
}

/// Damage done while writing (descriptor-level tampering the bytes alone cannot express).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tamper {
    /// Flip one byte of a layer's stored bytes (the name/digests stay the original ones).
    FlipLayerByte { image: usize, layer: usize, offset: usize },
    /// Claim a wrong size for a layer in the OCI manifest / descriptor (by `delta`).
    LayerSize { image: usize, layer: usize, delta: i64 },
    /// Leave a layer's blob out of the archive.
    MissingLayer { image: usize, layer: usize },
    /// Change the config bytes after naming them (config digest / image ID mismatch).
    BadConfig { image: usize },
    /// Leave the config file out.
    MissingConfig { image: usize },
    /// Claim a wrong size for the config in the OCI manifest (by `delta`).
    ConfigSize { image: usize, delta: i64 },
}

/// Variants of a writer.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Prefix every outer entry name with `./`.
    pub dot_slash: bool,
    /// camelCase `manifest.json` keys (`config`, `repoTags`, `layers`), as Jib writes.
    pub lowercase_keys: bool,
    /// Write `RepoTags: null` for untagged images (instead of `[]`).
    pub null_repo_tags: bool,
    /// Omit the `repositories` file.
    pub no_repositories: bool,
    /// (image, layer) pairs that are foreign: listed in `LayerSources` / with URLs, not written.
    pub foreign: Vec<(usize, usize)>,
    pub link: LinkStyle,
    pub tamper: Vec<Tamper>,
    /// Write directory entries for `<id>/` and `blobs/sha256/` like docker does.
    pub dir_entries: bool,
}

impl Options {
    pub fn tamper(t: Tamper) -> Options {
        Options { tamper: vec![t], ..Options::default() }
    }
}

/// An archive and what went into it.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub bytes: Vec<u8>,
    pub images: Vec<BuiltImage>,
    /// For pre-1.10 saves: the top layer ID of each image (their only "image ID").
    pub top_layer_ids: Vec<String>,
    /// Digests of manifests/blobs referenced but deliberately absent (multi-platform).
    pub absent: Vec<String>,
    /// Digests of attestation manifests written into the index.
    pub attestations: Vec<String>,
}

struct Out {
    tar: TarWriter,
    prefix: &'static str,
    written: std::collections::HashSet<String>,
}

impl Out {
    fn new(opts: &Options) -> Out {
        Out { tar: TarWriter::new(), prefix: if opts.dot_slash { "./" } else { "" }, written: Default::default() }
    }
    fn name(&self, n: &str) -> String {
        format!("{}{n}", self.prefix)
    }
    fn dir(&mut self, n: &str) {
        if self.written.insert(format!("{n}/")) {
            let name = self.name(&format!("{n}/"));
            self.tar.dir(name);
        }
    }
    /// Write a file once (later writes of the same name are skipped).
    fn file(&mut self, n: &str, data: &[u8]) -> bool {
        if !self.written.insert(n.to_string()) {
            return false;
        }
        let name = self.name(n);
        self.tar.file(name, data);
        true
    }
    fn symlink(&mut self, n: &str, target: &str) {
        if self.written.insert(n.to_string()) {
            let name = self.name(n);
            self.tar.symlink(name, target);
        }
    }
    fn hardlink(&mut self, n: &str, target: &str) {
        if self.written.insert(n.to_string()) {
            let name = self.name(n);
            let t = self.name(target);
            self.tar.hardlink(name, t);
        }
    }
    fn finish(self) -> Vec<u8> {
        self.tar.finish()
    }
}

/// Apply write-time tampering to the stored bytes of image `i`, layer `k`.
fn stored_bytes(opts: &Options, i: usize, k: usize, l: &BuiltLayer) -> Option<Vec<u8>> {
    let mut b = l.stored.clone();
    for t in &opts.tamper {
        match *t {
            Tamper::FlipLayerByte { image, layer, offset } if image == i && layer == k => {
                let o = offset.min(b.len().saturating_sub(1));
                b[o] ^= 0x01;
            }
            Tamper::MissingLayer { image, layer } if image == i && layer == k => return None,
            _ => {}
        }
    }
    if opts.foreign.contains(&(i, k)) {
        return None;
    }
    Some(b)
}

fn size_claim(opts: &Options, i: usize, k: usize, real: usize) -> i64 {
    let mut s = real as i64;
    for t in &opts.tamper {
        if let Tamper::LayerSize { image, layer, delta } = *t {
            if image == i && layer == k {
                s += delta;
            }
        }
    }
    s
}

fn config_bytes(opts: &Options, i: usize, img: &BuiltImage) -> Option<Vec<u8>> {
    let mut c = img.config.clone();
    for t in &opts.tamper {
        match *t {
            Tamper::BadConfig { image } if image == i => {
                // Keep it valid JSON: change a character inside the created date.
                let pos = c.windows(4).position(|w| w == b"2024").unwrap_or(c.len() / 2);
                c[pos + 3] = if c[pos + 3] == b'5' { b'6' } else { b'5' };
            }
            Tamper::MissingConfig { image } if image == i => return None,
            _ => {}
        }
    }
    Some(c)
}

/// The `repositories` file for these images, pointing at `top(i)`.
fn repositories(images: &[BuiltImage], top: impl Fn(usize) -> String) -> Vec<u8> {
    let mut repos: Map<String, Value> = Map::new();
    for (i, img) in images.iter().enumerate() {
        for t in &img.tags {
            let (repo, tag) = split_tag(t);
            let entry = repos.entry(repo.to_string()).or_insert_with(|| json!({}));
            entry[tag] = json!(top(i));
        }
    }
    serde_json::to_vec(&Value::Object(repos)).expect("repositories json")
}

/// `repo:tag` → (`repo`, `tag`); the colon after the last `/`.
pub fn split_tag(t: &str) -> (&str, &str) {
    let slash = t.rfind('/').map(|p| p + 1).unwrap_or(0);
    match t[slash..].rfind(':') {
        Some(c) => (&t[..slash + c], &t[slash + c + 1..]),
        None => (t, "latest"),
    }
}

fn manifest_entry(opts: &Options, img: &BuiltImage, config: &str, layers: Vec<String>, sources: Map<String, Value>) -> Value {
    let tags = if img.tags.is_empty() && opts.null_repo_tags { Value::Null } else { json!(img.tags) };
    let (kc, kt, kl) = if opts.lowercase_keys { ("config", "repoTags", "layers") } else { ("Config", "RepoTags", "Layers") };
    let mut m = Map::new();
    m.insert(kc.into(), json!(config));
    m.insert(kt.into(), tags);
    m.insert(kl.into(), json!(layers));
    if !sources.is_empty() {
        m.insert("LayerSources".into(), Value::Object(sources));
    }
    Value::Object(m)
}

fn foreign_source(l: &BuiltLayer) -> Value {
    json!({
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "size": l.stored.len(),
        "digest": l.digest,
        "urls": [format!("https://mcr.microsoft.com/v2/windows/servercore/blobs/{}", l.digest)]
    })
}

fn v1_json(id: &str, parent: Option<&str>, spec_created: &str, top: Option<&ImageSpec>) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    if let Some(p) = parent {
        m.insert("parent".into(), json!(p));
    }
    m.insert("created".into(), json!(spec_created));
    m.insert("container_config".into(), json!({"Cmd": null, "Env": null}));
    if let Some(s) = top {
        m.insert("config".into(), s.container_config());
        m.insert("os".into(), json!(s.os));
        m.insert("architecture".into(), json!(s.architecture));
    }
    serde_json::to_vec(&Value::Object(m)).expect("v1 json")
}

fn build_all(specs: &[ImageSpec]) -> Vec<BuiltImage> {
    specs.iter().map(ImageSpec::build).collect()
}

/// Legacy `docker save` (Docker ≤ 24, v1.2): `<id>/layer.tar`, `<id>/json`, `<id>/VERSION`,
/// `<config-hex>.json`, `manifest.json`, `repositories`. A layer repeated within one image
/// is written once; the repeat's `layer.tar` is a relative symlink to it.
pub fn docker_legacy(specs: &[ImageSpec], opts: &Options) -> Fixture {
    let images = build_all(specs);
    let mut out = Out::new(opts);
    let mut manifest = Vec::new();
    // diff_id → path of the first layer.tar written with it.
    let mut by_diff: std::collections::HashMap<String, String> = Default::default();
    for (i, img) in images.iter().enumerate() {
        let ids = img.v1_ids();
        let mut paths = Vec::new();
        let mut sources = Map::new();
        for (k, l) in img.layers.iter().enumerate() {
            let id = &ids[k];
            let path = format!("{id}/layer.tar");
            paths.push(path.clone());
            if opts.foreign.contains(&(i, k)) {
                sources.insert(l.diff_id.clone(), foreign_source(l));
                continue;
            }
            if opts.dir_entries {
                out.dir(id);
            }
            let parent = if k > 0 { Some(ids[k - 1].as_str()) } else { None };
            out.file(&format!("{id}/VERSION"), b"1.0");
            out.file(&format!("{id}/json"), &v1_json(id, parent, &specs[i].created, None));
            match by_diff.get(&l.diff_id) {
                Some(first) if *first != path => out.symlink(&path, &format!("../{first}")),
                Some(_) => {}
                None => {
                    if let Some(b) = stored_bytes(opts, i, k, l) {
                        out.file(&path, &b);
                    }
                    by_diff.insert(l.diff_id.clone(), path.clone());
                }
            }
        }
        let cfg_name = format!("{}.json", hex_of(&img.id));
        if let Some(c) = config_bytes(opts, i, img) {
            out.file(&cfg_name, &c);
        }
        manifest.push(manifest_entry(opts, img, &cfg_name, paths, sources));
    }
    out.file("manifest.json", &serde_json::to_vec(&manifest).expect("manifest.json"));
    if !opts.no_repositories {
        let tops: Vec<String> = images.iter().map(|im| im.v1_ids().last().cloned().unwrap_or_default()).collect();
        out.file("repositories", &repositories(&images, |i| tops[i].clone()));
    }
    Fixture { bytes: out.finish(), images, top_layer_ids: Vec::new(), absent: Vec::new(), attestations: Vec::new() }
}

/// Pre-1.10 `docker save`: only `repositories` and `<id>/{json,VERSION,layer.tar}` with
/// `parent` chains; the top layer's `json` carries the container config.
pub fn docker_pre110(specs: &[ImageSpec], opts: &Options) -> Fixture {
    let images = build_all(specs);
    let mut out = Out::new(opts);
    let mut tops = Vec::new();
    for (i, img) in images.iter().enumerate() {
        let ids = img.v1_ids();
        for (k, l) in img.layers.iter().enumerate() {
            let id = &ids[k];
            if opts.dir_entries {
                out.dir(id);
            }
            let parent = if k > 0 { Some(ids[k - 1].as_str()) } else { None };
            let top = if k + 1 == ids.len() { Some(&specs[i]) } else { None };
            if let Some(b) = stored_bytes(opts, i, k, l) {
                out.file(&format!("{id}/layer.tar"), &b);
            }
            out.file(&format!("{id}/json"), &v1_json(id, parent, &specs[i].created, top));
            out.file(&format!("{id}/VERSION"), b"1.0");
        }
        tops.push(ids.last().cloned().unwrap_or_default());
    }
    out.file("repositories", &repositories(&images, |i| tops[i].clone()));
    Fixture { bytes: out.finish(), images, top_layer_ids: tops, absent: Vec::new(), attestations: Vec::new() }
}

/// skopeo / podman / buildah docker-archive: `<diffid-hex>.tar` at the root, `<config-hex>.json`,
/// `manifest.json` naming the root files, plus legacy `<id>/layer.tar` links (symlink or
/// hardlink per [`Options::link`]), `<id>/json`, `<id>/VERSION` and `repositories`.
pub fn docker_archive(specs: &[ImageSpec], opts: &Options) -> Fixture {
    let images = build_all(specs);
    let mut out = Out::new(opts);
    let mut manifest = Vec::new();
    for (i, img) in images.iter().enumerate() {
        let ids = img.v1_ids();
        let mut paths = Vec::new();
        for (k, l) in img.layers.iter().enumerate() {
            let root = format!("{}.tar", hex_of(&l.diff_id));
            paths.push(root.clone());
            if let Some(b) = stored_bytes(opts, i, k, l) {
                out.file(&root, &b);
            }
        }
        let cfg_name = format!("{}.json", hex_of(&img.id));
        if let Some(c) = config_bytes(opts, i, img) {
            out.file(&cfg_name, &c);
        }
        for (k, l) in img.layers.iter().enumerate() {
            let id = &ids[k];
            let root = format!("{}.tar", hex_of(&l.diff_id));
            if opts.dir_entries {
                out.dir(id);
            }
            match opts.link {
                LinkStyle::Symlink => out.symlink(&format!("{id}/layer.tar"), &format!("../{root}")),
                LinkStyle::Hardlink => out.hardlink(&format!("{id}/layer.tar"), &root),
            }
            let parent = if k > 0 { Some(ids[k - 1].as_str()) } else { None };
            out.file(&format!("{id}/json"), &v1_json(id, parent, &specs[i].created, None));
            out.file(&format!("{id}/VERSION"), b"1.0");
        }
        manifest.push(manifest_entry(opts, img, &cfg_name, paths, Map::new()));
    }
    out.file("manifest.json", &serde_json::to_vec(&manifest).expect("manifest.json"));
    if !opts.no_repositories {
        let tops: Vec<String> = images.iter().map(|im| im.v1_ids().last().cloned().unwrap_or_default()).collect();
        out.file("repositories", &repositories(&images, |i| tops[i].clone()));
    }
    Fixture { bytes: out.finish(), images, top_layer_ids: Vec::new(), absent: Vec::new(), attestations: Vec::new() }
}

/// Jib's `jib:buildTar` output: `config.json`, gzip layers named `<digest-hex>.tar.gz`,
/// and a `manifest.json` with Jib's camelCase keys (`config`, `repoTags`, `layers`). One
/// image only (Jib writes one); layers are gzip'd whatever the spec says.
pub fn jib(spec: &ImageSpec, opts: &Options) -> Fixture {
    let mut spec = spec.clone();
    for l in &mut spec.layers {
        l.compression = Compression::Gzip;
    }
    let images = build_all(std::slice::from_ref(&spec));
    let img = &images[0];
    let mut out = Out::new(opts);
    let mut paths = Vec::new();
    for (k, l) in img.layers.iter().enumerate() {
        let name = format!("{}.tar.gz", hex_of(&l.digest));
        if let Some(b) = stored_bytes(opts, 0, k, l) {
            out.file(&name, &b);
        }
        paths.push(name);
    }
    if let Some(c) = config_bytes(opts, 0, img) {
        out.file("config.json", &c);
    }
    let entry = json!({"config": "config.json", "repoTags": img.tags, "layers": paths});
    out.file("manifest.json", &serde_json::to_vec(&json!([entry])).expect("manifest.json"));
    Fixture { bytes: out.finish(), images, top_layer_ids: Vec::new(), absent: Vec::new(), attestations: Vec::new() }
}

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// The OCI manifest for image `i` as written, with size tampering and foreign layers applied.
fn written_manifest(opts: &Options, i: usize, img: &BuiltImage) -> Vec<u8> {
    let foreign: Vec<usize> = opts.foreign.iter().filter(|(im, _)| *im == i).map(|(_, k)| *k).collect();
    let mut v: Value = serde_json::from_slice(&oci_manifest(&img.config, &img.layers, &foreign)).expect("manifest");
    if let Some(ls) = v["layers"].as_array_mut() {
        for (k, l) in ls.iter_mut().enumerate() {
            let s = size_claim(opts, i, k, img.layers[k].stored.len());
            l["size"] = json!(s);
        }
    }
    for t in &opts.tamper {
        if let Tamper::ConfigSize { image, delta } = *t {
            if image == i {
                v["config"]["size"] = json!(img.config.len() as i64 + delta);
            }
        }
    }
    serde_json::to_vec(&v).expect("manifest json")
}

fn blob_path(d: &str) -> String {
    format!("blobs/sha256/{}", hex_of(d))
}

/// Write layer and config blobs of image `i` (once each).
fn write_blobs(out: &mut Out, opts: &Options, i: usize, img: &BuiltImage) {
    for (k, l) in img.layers.iter().enumerate() {
        if out.written.contains(&blob_path(&l.digest)) {
            continue;
        }
        if let Some(b) = stored_bytes(opts, i, k, l) {
            out.file(&blob_path(&l.digest), &b);
        }
    }
    if let Some(c) = config_bytes(opts, i, img) {
        out.file(&blob_path(&img.id), &c);
    }
}

fn ref_annotations(tag: &str) -> Value {
    let (repo, t) = split_tag(tag);
    let full = if repo.contains('/') && repo.split('/').next().is_some_and(|h| h.contains('.') || h.contains(':')) {
        format!("{repo}:{t}")
    } else if repo.contains('/') {
        format!("docker.io/{repo}:{t}")
    } else {
        format!("docker.io/library/{repo}:{t}")
    };
    json!({"io.containerd.image.name": full, "org.opencontainers.image.ref.name": t})
}

/// One index descriptor per tag (with its ref annotations), or one bare descriptor when untagged.
fn push_tagged(index: &mut Vec<Value>, desc: &Value, tags: &[String]) {
    if tags.is_empty() {
        index.push(desc.clone());
    }
    for t in tags {
        let mut d = desc.clone();
        d["annotations"] = ref_annotations(t);
        index.push(d);
    }
}

/// Docker 25+ `docker save` with the classic image store: OCI layout (uncompressed layer
/// blobs unless a layer says otherwise) plus `manifest.json` pointing into `blobs/`, and
/// `repositories`. `index.json` has one descriptor per tag (and one bare one if untagged).
pub fn docker_oci(specs: &[ImageSpec], opts: &Options) -> Fixture {
    let images = build_all(specs);
    let mut out = Out::new(opts);
    if opts.dir_entries {
        out.dir("blobs");
        out.dir("blobs/sha256");
    }
    let mut manifest = Vec::new();
    let mut index = Vec::new();
    for (i, img) in images.iter().enumerate() {
        write_blobs(&mut out, opts, i, img);
        let m = written_manifest(opts, i, img);
        let md = digest(&m);
        out.file(&blob_path(&md), &m);
        let mut sources = Map::new();
        for (k, l) in img.layers.iter().enumerate() {
            if opts.foreign.contains(&(i, k)) {
                sources.insert(l.diff_id.clone(), foreign_source(l));
            }
        }
        let paths = img.layers.iter().map(|l| blob_path(&l.digest)).collect();
        manifest.push(manifest_entry(opts, img, &blob_path(&img.id), paths, sources));
        let desc = json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": m.len()});
        push_tagged(&mut index, &desc, &img.tags);
    }
    out.file("index.json", &serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index})).expect("index"));
    out.file("manifest.json", &serde_json::to_vec(&manifest).expect("manifest.json"));
    out.file("oci-layout", OCI_LAYOUT);
    if !opts.no_repositories {
        let tops: Vec<String> = images.iter().map(|im| hex_of(&im.id).to_string()).collect();
        out.file("repositories", &repositories(&images, |i| tops[i].clone()));
    }
    Fixture { bytes: out.finish(), images, top_layer_ids: Vec::new(), absent: Vec::new(), attestations: Vec::new() }
}

/// Docker 25+ `docker save` with the containerd image store. Each image spec becomes a
/// multi-platform index (gzip layer blobs) holding: its own manifest (present), a
/// `linux/arm64` manifest whose blobs are all absent, and an attestation manifest
/// (`unknown/unknown`, `vnd.docker.reference.type: attestation-manifest`) that is present.
/// `manifest.json` lists only the present platform. Layers default to gzip here.
pub fn docker_containerd(specs: &[ImageSpec], opts: &Options) -> Fixture {
    let specs: Vec<ImageSpec> = specs
        .iter()
        .map(|s| {
            let mut s = s.clone();
            for l in &mut s.layers {
                if l.compression == Compression::None {
                    l.compression = Compression::Gzip;
                }
            }
            s
        })
        .collect();
    let images = build_all(&specs);
    let mut out = Out::new(opts);
    let mut manifest = Vec::new();
    let mut index = Vec::new();
    let mut absent = Vec::new();
    let mut attestations = Vec::new();
    for (i, img) in images.iter().enumerate() {
        write_blobs(&mut out, opts, i, img);
        let m = written_manifest(opts, i, img);
        let md = digest(&m);
        out.file(&blob_path(&md), &m);

        // The other platform: a manifest that is referenced but not saved.
        let other_spec = specs[i].clone().platform("linux", "arm64", Some("v8"));
        let other = other_spec.build();
        absent.push(other.manifest_digest.clone());

        // The attestation manifest: an in-toto statement about the present platform.
        let statement = serde_json::to_vec(&json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://spdx.dev/Document",
            "subject": [{"name": "pkg:docker/fixture", "digest": {"sha256": hex_of(&md)}}],
            "predicate": {"spdxVersion": "SPDX-2.3"}
        }))
        .expect("statement");
        let att_config = serde_json::to_vec(&json!({
            "architecture": "unknown", "os": "unknown", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [digest(&statement)]}
        }))
        .expect("att config");
        let att_manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&att_config), "size": att_config.len()},
            "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": digest(&statement), "size": statement.len(),
                        "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}]
        }))
        .expect("att manifest");
        out.file(&blob_path(&digest(&statement)), &statement);
        out.file(&blob_path(&digest(&att_config)), &att_config);
        out.file(&blob_path(&digest(&att_manifest)), &att_manifest);
        attestations.push(digest(&att_manifest));

        let platform = platform_of(img);
        let idx = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": m.len(), "platform": platform},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": other.manifest_digest, "size": other.manifest.len(),
                 "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(&att_manifest), "size": att_manifest.len(),
                 "platform": {"os": "unknown", "architecture": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": md}}
            ]
        }))
        .expect("index");
        let id = digest(&idx);
        out.file(&blob_path(&id), &idx);

        let paths = img.layers.iter().map(|l| blob_path(&l.digest)).collect();
        manifest.push(manifest_entry(opts, img, &blob_path(&img.id), paths, Map::new()));
        let desc = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": id, "size": idx.len()});
        push_tagged(&mut index, &desc, &img.tags);
    }
    out.file("index.json", &serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": index})).expect("index"));
    out.file("manifest.json", &serde_json::to_vec(&manifest).expect("manifest.json"));
    out.file("oci-layout", OCI_LAYOUT);
    Fixture { bytes: out.finish(), images, top_layer_ids: Vec::new(), absent, attestations }
}

/// oci-archive (skopeo, buildah, BuildKit): OCI layout only. `index.json` → (per image) a
/// nested index blob → another index blob → the manifest, when `nested` is true; otherwise
/// `index.json` → manifest. Tags as `org.opencontainers.image.ref.name` (the tag part only,
/// as skopeo writes it) on the top-level descriptor. Layer compression per [`LayerSpec`].
pub fn oci_archive(specs: &[ImageSpec], opts: &Options, nested: bool) -> Fixture {
    let images = build_all(specs);
    let mut out = Out::new(opts);
    let mut index = Vec::new();
    for (i, img) in images.iter().enumerate() {
        let mut desc = write_image(&mut out, opts, i, img);
        if nested {
            for _ in 0..2 {
                desc = write_index(&mut out, vec![desc]);
            }
        }
        push_ref_named(&mut index, &desc, &img.tags);
    }
    out.file("index.json", &serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": index})).expect("index"));
    out.file("oci-layout", OCI_LAYOUT);
    Fixture { bytes: out.finish(), images, top_layer_ids: Vec::new(), absent: Vec::new(), attestations: Vec::new() }
}

/// A multi-platform oci-archive, as `skopeo copy --all` or BuildKit's OCI exporter write
/// it: `index.json` → one image index blob (tagged with every tag of the first spec, as
/// `org.opencontainers.image.ref.name`) → one manifest per spec, each with its
/// `platform`. Every platform is present; the specs usually differ only in platform
/// ([`ImageSpec::platform`]) and a few files.
pub fn oci_archive_platforms(specs: &[ImageSpec], opts: &Options) -> Fixture {
    let images = build_all(specs);
    let mut out = Out::new(opts);
    let manifests = images.iter().enumerate().map(|(i, img)| write_image(&mut out, opts, i, img)).collect();
    let desc = write_index(&mut out, manifests);
    let mut index = Vec::new();
    push_ref_named(&mut index, &desc, images.first().map(|img| &img.tags[..]).unwrap_or_default());
    out.file("index.json", &serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": index})).expect("index"));
    out.file("oci-layout", OCI_LAYOUT);
    Fixture { bytes: out.finish(), images, top_layer_ids: Vec::new(), absent: Vec::new(), attestations: Vec::new() }
}

/// Write image `i`'s blobs and its manifest; the manifest's descriptor, with the platform.
fn write_image(out: &mut Out, opts: &Options, i: usize, img: &BuiltImage) -> Value {
    write_blobs(out, opts, i, img);
    let m = written_manifest(opts, i, img);
    let md = digest(&m);
    out.file(&blob_path(&md), &m);
    json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": m.len(), "platform": platform_of(img)})
}

/// `{"os", "architecture"[, "variant"]}` of an image, for an index descriptor.
fn platform_of(img: &BuiltImage) -> Value {
    let mut platform = json!({"os": img.os, "architecture": img.architecture});
    if let Some(v) = &img.variant {
        platform["variant"] = json!(v);
    }
    platform
}

/// Write an image index blob listing `manifests`; its descriptor.
fn write_index(out: &mut Out, manifests: Vec<Value>) -> Value {
    let inner = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests})).expect("index");
    let d = digest(&inner);
    out.file(&blob_path(&d), &inner);
    json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": inner.len()})
}

/// skopeo's way: one copy of `desc` per tag, named by `org.opencontainers.image.ref.name`
/// alone (one bare copy if untagged). Docker's way is [`push_tagged`].
fn push_ref_named(index: &mut Vec<Value>, desc: &Value, tags: &[String]) {
    if tags.is_empty() {
        index.push(desc.clone());
    }
    for t in tags {
        let mut d = desc.clone();
        d["annotations"] = json!({"org.opencontainers.image.ref.name": t});
        index.push(d);
    }
}

// ---------------------------------------------------------------------------------------
// Editing finished archives
// ---------------------------------------------------------------------------------------

/// A finished (uncompressed) outer tar, parsed into entries for editing. Only handles what
/// these writers and common tools produce (ustar, GNU long names, PAX path records).
#[derive(Debug, Clone, Default)]
pub struct OuterTar {
    pub entries: Vec<Entry>,
}

impl OuterTar {
    pub fn parse(bytes: &[u8]) -> OuterTar {
        let mut ar = tar::Archive::new(bytes);
        let mut entries = Vec::new();
        for e in ar.entries().expect("tar entries") {
            let mut e = e.expect("tar entry");
            let path = e.path_bytes().to_vec();
            let link = e.link_name_bytes().map(|l| l.to_vec()).unwrap_or_default();
            let h = e.header().clone();
            let kind = match h.entry_type() {
                tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
                tar::EntryType::Directory => Kind::Dir,
                tar::EntryType::Symlink => Kind::Symlink,
                tar::EntryType::Link => Kind::Hardlink,
                tar::EntryType::Fifo => Kind::Fifo,
                other => Kind::Other(other.as_byte()),
            };
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).expect("entry data");
            entries.push(Entry {
                path,
                kind,
                data,
                link,
                mode: h.mode().unwrap_or(0o644),
                uid: h.uid().unwrap_or(0),
                gid: h.gid().unwrap_or(0),
                mtime: h.mtime().unwrap_or(MTIME),
                pax: Vec::new(),
            });
        }
        OuterTar { entries }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = TarWriter::new();
        for e in &self.entries {
            w.entry(e);
        }
        w.finish()
    }

    fn find(&self, name: &str) -> Option<usize> {
        let want = name.trim_start_matches("./");
        self.entries.iter().position(|e| e.path.strip_prefix(b"./").unwrap_or(&e.path) == want.as_bytes())
    }

    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| String::from_utf8_lossy(&e.path).into_owned()).collect()
    }
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.find(name).map(|i| &self.entries[i])
    }
    pub fn remove(&mut self, name: &str) -> bool {
        match self.find(name) {
            Some(i) => {
                self.entries.remove(i);
                true
            }
            None => false,
        }
    }
    pub fn set_data(&mut self, name: &str, data: Vec<u8>) {
        let i = self.find(name).unwrap_or_else(|| panic!("no entry {name}"));
        self.entries[i].data = data;
    }
    pub fn flip_byte(&mut self, name: &str, offset: usize) {
        let i = self.find(name).unwrap_or_else(|| panic!("no entry {name}"));
        let d = &mut self.entries[i].data;
        assert!(offset < d.len(), "offset {offset} outside {name} ({} bytes)", d.len());
        d[offset] ^= 0x01;
    }
    pub fn push(&mut self, e: Entry) {
        self.entries.push(e);
    }
}

/// Flip one byte of entry `name`'s data in archive `bytes`.
pub fn flip_byte_in(bytes: &[u8], name: &str, offset: usize) -> Vec<u8> {
    let mut t = OuterTar::parse(bytes);
    t.flip_byte(name, offset);
    t.to_bytes()
}

/// Remove entry `name` from archive `bytes`.
pub fn remove_entry(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut t = OuterTar::parse(bytes);
    assert!(t.remove(name), "no entry {name}");
    t.to_bytes()
}

/// Replace entry `name`'s data in archive `bytes`.
pub fn replace_entry(bytes: &[u8], name: &str, data: Vec<u8>) -> Vec<u8> {
    let mut t = OuterTar::parse(bytes);
    t.set_data(name, data);
    t.to_bytes()
}

// ---------------------------------------------------------------------------------------
// Standard specs
// ---------------------------------------------------------------------------------------

/// A small base layer: a few dirs and files, a symlink and a hardlink.
pub fn base_layer() -> LayerSpec {
    LayerSpec::new()
        .dir("etc")
        .file("etc/os-release", "NAME=\"Fixture Linux\"\nID=fixture\nVERSION_ID=1.0\n")
        .file("etc/hostname", "fixture\n")
        .dir("usr")
        .dir("usr/bin")
        .file_mode("usr/bin/tool", b"#!/bin/sh\necho tool\n".repeat(8), 0o755)
        .hardlink("usr/bin/tool-alias", "usr/bin/tool")
        .symlink("bin", "usr/bin")
        .dir("var")
        .dir("var/cache")
        .file("var/cache/a", "cached a\n")
        .file("var/cache/b", "cached b\n")
}

/// A two-layer image `web:v1` over [`base_layer`], with deletions and an opaque dir.
pub fn web_v1() -> ImageSpec {
    ImageSpec::new(&["web:v1"])
        .layer(base_layer(), "/bin/sh -c #(nop) ADD file:fixture in / ")
        .nop("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]")
        .layer(
            LayerSpec::new()
                .dir("app")
                .file("app/main.txt", "hello from v1\n")
                .whiteout("etc/hostname")
                .opaque("var/cache")
                .file("var/cache/c", "new c\n"),
            "/bin/sh -c #(nop) COPY dir:app in /app ",
        )
        .env("APP=web")
        .cmd(&["/usr/bin/tool"])
        .expose("80/tcp")
        .label("org.opencontainers.image.title", "web")
}

/// [`web_v1`] built for `linux/<arch>[/<variant>]`, with one more layer that writes
/// `/etc/arch` ("built for <arch>"): the platforms of a multi-platform index, told apart.
pub fn web_v1_for(arch: &str, variant: Option<&str>) -> ImageSpec {
    web_v1()
        .platform("linux", arch, variant)
        .layer(LayerSpec::new().file("etc/arch", format!("built for {arch}\n")), "/bin/sh -c uname -m > /etc/arch")
}

/// `web:v2`: shares the base layer with [`web_v1`] and adds its own.
pub fn web_v2() -> ImageSpec {
    let mut s = web_v1();
    s.tags = vec!["web:v2".to_string()];
    s.layer(LayerSpec::new().file("app/main.txt", "hello from v2\n").file("app/extra.txt", "extra\n"), "/bin/sh -c echo v2 > /app/main.txt")
        .label("version", "2")
}

// ---------------------------------------------------------------------------------------
// The teaching sample
// ---------------------------------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A small RGB PNG (a gradient with a diagonal stripe), `size`×`size` pixels.
pub fn tiny_png(size: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..size {
        raw.push(0u8); // filter: none
        for x in 0..size {
            let stripe = (x as i64 - y as i64).abs() < 3;
            let r = if stripe { 255 } else { (x * 255 / size.max(1)) as u8 };
            let g = if stripe { 255 } else { (y * 255 / size.max(1)) as u8 };
            let b = if stripe { 255 } else { 160 };
            raw.extend_from_slice(&[r, g, b]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).expect("zlib");
    let idat = z.finish().expect("zlib finish");
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        png.extend_from_slice(&c);
        png.extend_from_slice(&crc32(&c).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    png
}

/// The two image specs of the teaching sample (`strata-demo:1.0` and `strata-demo:2.0`,
/// sharing their first two layers).
pub fn sample_specs() -> Vec<ImageSpec> {
    let os_release = "PRETTY_NAME=\"Strata Demo Linux 1.0\"\nNAME=\"Strata Demo Linux\"\nVERSION_ID=\"1.0\"\nID=strata-demo\nHOME_URL=\"https://example.org/strata\"\n";
    let base = LayerSpec::new()
        .dir("bin")
        .dir("etc")
        .file("etc/os-release", os_release)
        .file("etc/hostname", "demo\n")
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n")
        .file("etc/group", "root:x:0:\napp:x:1000:\n")
        .dir("usr")
        .dir("usr/bin")
        .file_mode("usr/bin/busybox", b"\x7fELF demo busybox stand-in\n".repeat(64), 0o755)
        .hardlink("usr/bin/sh", "usr/bin/busybox")
        .symlink("bin/sh", "/usr/bin/sh")
        .dir("usr/share")
        .dir("usr/share/doc")
        .file("usr/share/doc/README", "Strata demo base image.\nEvery file here is tiny and made up.\n")
        .entry(Entry::dir("tmp").mode(0o1777))
        .dir("var")
        .dir("var/cache")
        .dir("var/cache/apk")
        .file("var/cache/apk/APKINDEX.tar.gz", b"\x1f\x8b fake index".repeat(16))
        .file("var/cache/apk/installed", "busybox-1.36\nmusl-1.2\n");
    let deps = LayerSpec::new()
        .dir("usr/lib")
        .file("usr/lib/libdemo.so.1", b"\x7fELF libdemo\n".repeat(128))
        .symlink("usr/lib/libdemo.so", "libdemo.so.1")
        .opaque("var/cache/apk")
        .file("var/cache/apk/.keep", "")
        .whiteout("etc/hostname");
    let app1 = LayerSpec::new()
        .entry(Entry::dir("app").owner(1000, 1000))
        .file("app/README.md", "# strata-demo 1.0\n\nA tiny app used to show how layers stack.\n")
        .file("app/config.json", "{\n  \"listen\": \":8080\",\n  \"greeting\": \"hello\"\n}\n")
        .file("app/logo.png", tiny_png(32))
        .file_mode("usr/bin/app", b"#!/bin/sh\necho \"$GREETING from strata-demo\"\n", 0o755);
    let v1 = ImageSpec::new(&["strata-demo:1.0"])
        .created("2024-03-01T10:00:00Z")
        .layer(base.clone(), "/bin/sh -c #(nop) ADD file:4f1b2e0c9a in / ")
        .nop("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]")
        .layer(deps.clone(), "/bin/sh -c apk add --no-cache libdemo && rm /etc/hostname")
        .nop("/bin/sh -c #(nop)  ENV GREETING=hello")
        .layer(app1.clone(), "/bin/sh -c #(nop) COPY dir:8d2c1a in /app ")
        .nop("/bin/sh -c #(nop)  LABEL org.opencontainers.image.title=strata-demo org.opencontainers.image.version=1.0")
        .nop("/bin/sh -c #(nop)  EXPOSE 8080/tcp")
        .nop("/bin/sh -c #(nop) WORKDIR /app")
        .nop("/bin/sh -c #(nop)  CMD [\"/usr/bin/app\"]")
        .env("GREETING=hello")
        .label("org.opencontainers.image.title", "strata-demo")
        .label("org.opencontainers.image.version", "1.0")
        .expose("8080/tcp")
        .workdir("/app")
        .cmd(&["/usr/bin/app"]);
    let app2 = LayerSpec::new()
        .file("app/config.json", "{\n  \"listen\": \":8080\",\n  \"greeting\": \"hello again\",\n  \"debug\": false\n}\n")
        .whiteout("app/README.md")
        .file("app/CHANGELOG.md", "## 2.0\n- config gained a debug switch\n- README moved to CHANGELOG\n")
        .opaque("app/static")
        .file("app/static/index.html", "<!doctype html><title>demo</title><img src=../logo.png>\n");
    let v2 = v1
        .clone()
        .created("2024-04-01T10:00:00Z")
        .layer(app2, "/bin/sh -c #(nop) COPY multi:77aa01 in /app/ ")
        .nop("/bin/sh -c #(nop)  USER app")
        .nop("/bin/sh -c #(nop)  HEALTHCHECK &{[\"CMD-SHELL\" \"/usr/bin/app --check\"] \"30s\" \"3s\" \"0s\" \"0s\" '\\x03'}")
        .user("app")
        .volume("/app/data")
        .stop_signal("SIGTERM")
        .healthcheck(json!({"Test": ["CMD-SHELL", "/usr/bin/app --check"], "Interval": 30000000000u64, "Timeout": 3000000000u64, "Retries": 3}));
    let mut v2 = v2;
    v2.tags = vec!["strata-demo:2.0".to_string()];
    v2.labels.retain(|(k, _)| k != "org.opencontainers.image.version");
    v2 = v2.label("org.opencontainers.image.version", "2.0");
    vec![v1, v2]
}

/// The built-in teaching sample: a Docker 25+ style `docker save strata-demo:1.0
/// strata-demo:2.0` (classic store, uncompressed layers), well under 1 MB.
pub fn sample_archive() -> Vec<u8> {
    docker_oci(&sample_specs(), &Options { dir_entries: true, ..Options::default() }).bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_round_trip_through_tar_rs() {
        for style in [LongNames::Gnu, LongNames::Pax] {
            let long = format!("{}/file.txt", "d".repeat(300));
            let mut w = TarWriter::with_long_names(style);
            w.file(&long, "x");
            w.symlink("l", "t".repeat(200));
            let bytes = w.finish();
            let t = OuterTar::parse(&bytes);
            assert_eq!(t.entries[0].path, long.as_bytes());
            assert_eq!(t.entries[1].link, "t".repeat(200).as_bytes());
        }
    }

    #[test]
    fn sample_is_small_and_parses() {
        let s = sample_archive();
        assert!(s.len() < 1024 * 1024, "sample is {} bytes", s.len());
        let t = OuterTar::parse(&s);
        assert!(t.get("manifest.json").is_some());
        assert!(t.get("index.json").is_some());
    }

    #[test]
    fn png_has_valid_signature() {
        let p = tiny_png(8);
        assert!(p.starts_with(b"\x89PNG"));
    }

    #[test]
    fn split_tags() {
        assert_eq!(split_tag("web:v1"), ("web", "v1"));
        assert_eq!(split_tag("localhost:5000/a/b:c"), ("localhost:5000/a/b", "c"));
        assert_eq!(split_tag("localhost:5000/a"), ("localhost:5000/a", "latest"));
    }
}

// (A path relative to this file: tests/wasm_browser.rs includes it by path too.)
#[path = "fixture/lesson.rs"]
pub mod lesson;
