//! Codes: every finding, check item, verdict reason, merge warning and error the core can
//! produce has a stable machine code and named parameters. The English text of each is
//! written once, here, as a template (`{name}` marks a parameter), and every `message` the
//! report, the CLI and the page show is generated from code + parameters — so the page can
//! render the same code from its own catalogs (`www/locales/<lang>/core.json`, key
//! `code.<code>`, the same `{name}` parameters) and a test can check that no code lacks a
//! text in any language.
//!
//! A parameter is a number, a string (archive data: a path, a digest, a tag) or another
//! message: a reason inside a sentence ("layer 2 is missing: {why}", `why` being the coded
//! reason the archive index gave). Codes never change once published; new ones may be added.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Declares [`Code`] with its snake_case name and English template, in one place.
macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal : $english:literal, )*) => {
        /// A stable machine code (see the module docs). Serialises as its snake_case name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable snake_case name (`digest_mismatch`).
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The English text with `{param}` placeholders: the one place it is written.
            pub fn template(self) -> &'static str {
                match self { $( Code::$variant => $english, )* }
            }
        }
    };
}

codes! {
    // --- check items: what a check verified (`checks[].code`; `item` is the English) ---
    /// The config's bytes hash to the image ID / descriptor digest.
    ConfigDigest = "config_digest": "config digest",
    /// A manifest's bytes hash to its descriptor digest.
    ManifestDigest = "manifest_digest": "manifest digest",
    /// The config's size matches its descriptor.
    ConfigSize = "config_size": "config size",
    /// A manifest's size matches its descriptor.
    ManifestSize = "manifest_size": "manifest size",
    /// Docker 25+: index.json lists the same layers as manifest.json.
    IndexAgrees = "index_agrees": "index.json agrees with manifest.json",
    /// The config's rootfs.diff_ids count equals the manifest's layer count.
    LayerCount = "layer_count": "layer count (config rootfs.diff_ids vs manifest layers)",
    /// The layer's blob is in the archive.
    LayerBlob = "layer_blob": "layer blob",
    /// The blob's size matches its descriptor.
    BlobSize = "blob_size": "blob size",
    /// The blob's bytes hash to its descriptor digest.
    BlobDigest = "blob_digest": "blob digest",
    /// The blob's bytes (or content) hash to the digest its file name promises.
    FileNameDigest = "file_name_digest": "file name digest",
    /// The layer's tar can be read to its end.
    LayerTarReadable = "layer_tar_readable": "layer tar readable",
    /// The uncompressed layer hashes to the config's diff_id.
    DiffId = "diff_id": "diff_id",

    // --- reasons: why something could not be opened, read or checked ---
    PathNotInArchive = "path_not_in_archive": "{path} is not in the archive",
    PathNotAFile = "path_not_a_file": "{path} is not a regular file",
    LinkChainTooLong = "link_chain_too_long": "{path} is a chain of more than {max} links (a cycle?)",
    MetadataTooBig = "metadata_too_big": "{size} bytes is over the {max}-byte limit for metadata",
    NotKept = "not_kept": "not kept during the streaming scan",
    ForeignLayerReason = "foreign_layer_reason": "foreign layer: not included in the archive",
    NoDiffId = "no_diff_id": "the config lists no diff_id for this layer",
    BlobNotTar = "blob_not_tar": "the blob is not a tar stream",
    StreamIncomplete = "stream_incomplete": "the layer stream could not be read to its end",
    ReadFailed = "read_failed": "read failed: {detail}",
    ReadFailedAt = "read_failed_at": "read failed at byte {offset}: {detail}",
    CannotDecompress = "cannot_decompress": "cannot decompress ({compression}): {detail}",
    CompressedNotTar = "compressed_not_tar": "{compression} data that is not a tar",
    LayerNotTar = "layer_not_tar": "not a tar stream: {detail} (at byte {offset} of the uncompressed layer)",
    LayerBadHeader = "layer_bad_header": "bad tar header: {detail} (at byte {offset} of the uncompressed layer)",
    // An entry the runtimes refuse (Go's archive/tar stops the layer there), or a cap.
    EntryDataNotRead = "entry_data_not_read": "the entry {entry} (tar type '{typeflag}': a link, device, directory or FIFO) claims {bytes} bytes of data, which Docker, containerd and podman never read after such a header (at byte {offset} of the uncompressed layer)",
    EntryNotFollowed = "entry_not_followed": "strata lost its place in the tar at the entry {entry}, so it cannot vouch for reading it as the runtimes do; the layer is not read past it (at byte {offset} of the uncompressed layer)",
    PaxSizeMisread = "pax_size_misread": "the PAX size of {entry} ({size} bytes) is read by strata's tar reader as {read} bytes, so the entries after it cannot be found as the runtimes find them (at byte {offset} of the uncompressed layer)",
    PaxRecordMalformed = "pax_record_malformed": "the PAX header of {entry} is not a list of length-prefixed records as Go's archive/tar reads them ({detail}); Docker, containerd and podman refuse the layer there (at byte {offset} of the uncompressed layer)",
    PaxRecordNul = "pax_record_nul": "the PAX record {key} of {entry} holds a NUL byte, which Go's archive/tar refuses, and with it the layer (at byte {offset} of the uncompressed layer)",
    PaxRecordBadValue = "pax_record_bad_value": "the PAX record {key} of {entry} holds a value that key cannot take ({detail}); Go's archive/tar refuses the layer there (at byte {offset} of the uncompressed layer)",
    EntryNameTooLong = "entry_name_too_long": "the entry {entry} has a name longer than {max} bytes (at byte {offset} of the uncompressed layer)",
    LayerEntriesLimit = "layer_entries_limit": "the layer holds more than {max} entries; the rest were not indexed (at byte {offset} of the uncompressed layer)",
    LayerNamesLimit = "layer_names_limit": "the layer's entry names (paths and link targets) add up to more than {mib} MiB; the rest were not indexed (at byte {offset} of the uncompressed layer)",
    LayerSparseFragmentsLimit = "layer_sparse_fragments_limit": "the layer's sparse files hold more than {max} map fragments in all; the rest were not indexed (at byte {offset} of the uncompressed layer)",
    /// A sparse file's map that Go's archive/tar refuses (out of order, overlapping, past the
    /// file's size, not the stored bytes, unreadable numbers): the runtimes cannot unpack it.
    LayerSparseMapRefused = "layer_sparse_map_refused": "the sparse file {entry} cannot be unpacked: {detail} (at byte {offset} of the uncompressed layer)",
    LayerTruncatedInside = "layer_truncated_inside": "layer truncated inside {path}: {detail} (at byte {offset} of the uncompressed layer)",
    LayerStreamError = "layer_stream_error": "layer stream ended with an error: {detail} (at byte {offset} of the uncompressed layer)",
    LayerTruncated = "layer_truncated": "the layer is cut short: it ends at byte {offset} of the uncompressed layer, inside an entry ({detail})",
    LayerLoneZeroBlock = "layer_lone_zero_block": "a single zero block at byte {offset} of the uncompressed layer is followed by more data: Docker, containerd and podman (Go's archive/tar) refuse the layer there; GNU tar and Python stop at it, as this listing does",

    // --- package databases and manifests (`strata packages`, the Packages tab) ---
    PackageFileUnreadable = "package_file_unreadable": "{detail}",
    PackageDbWal = "package_db_wal": "a non-empty SQLite write-ahead log: the rpm database's latest changes may be there, and strata reads only the database file",
    PackagesLimit = "packages_limit": "more than {max} packages in the image: the rest are left out",
    PackageSourcesLimit = "package_sources_limit": "more than {max} package manifests in the image: the rest are not read",

    // --- findings: the archive's metadata (`findings[]`) ---
    CannotOpen = "cannot_open": "cannot open {path}: {why}",
    CannotRead = "cannot_read": "cannot read {path}: {why}",
    InvalidJson = "invalid_json": "{path} is not valid JSON: {detail}",
    NoOciLayout = "no_oci_layout": "index.json without an oci-layout file",
    ManifestJsonNotArray = "manifest_json_not_array": "manifest.json is not a JSON array",
    TooManyImages = "too_many_images": "manifest.json lists {count} images; only the first {max} are read",
    EntryNotObject = "entry_not_object": "entry is not a JSON object",
    EntryNoConfig = "entry_no_config": "entry has no Config",
    TooManyLayers = "too_many_layers": "more than {max} layers",
    ForeignLayerSources = "foreign_layer_sources": "layer {layer} is a foreign layer (LayerSources), not included in the archive",
    ForeignLayer = "foreign_layer": "layer {layer} is a foreign layer, not included in the archive",
    LayerMissing = "layer_missing": "layer {layer} is missing: {why}",
    LayerNoDigest = "layer_no_digest": "layer {layer} has no usable digest",
    ManifestsNull = "manifests_null": "index.json has \"manifests\": null (a Docker 25.0 bug)",
    NoManifestsArray = "no_manifests_array": "{path} has no manifests array",
    DescriptorNoDigest = "descriptor_no_digest": "descriptor without a digest",
    UnsupportedDigest = "unsupported_digest": "unsupported digest \"{digest}\"",
    AttestationManifest = "attestation_manifest": "{digest} is an attestation manifest, not an image",
    PlatformManifestAbsent = "platform_manifest_absent": "platform {platform} ({digest}) is listed but its manifest is not in the archive",
    ManifestAbsent = "manifest_absent": "manifest ({digest}) is listed but its manifest is not in the archive",
    ManifestDigestMismatch = "manifest_digest_mismatch": "manifest digest mismatch: descriptor says {expected}, bytes hash to {actual}",
    ConfigSizeMismatch = "config_size_mismatch": "config size mismatch: descriptor says {expected}, blob has {actual}",
    ManifestSizeMismatch = "manifest_size_mismatch": "manifest size mismatch: descriptor says {expected}, blob has {actual}",
    IndexTooDeep = "index_too_deep": "indexes nested deeper than {max}",
    ManifestNoConfig = "manifest_no_config": "manifest has no config descriptor",
    NotInIndex = "not_in_index": "{image} is in manifest.json but not in index.json (Docker 25.0 omits untagged images)",
    LayersDisagree = "layers_disagree": "manifest.json and index.json list different layers for this image",
    IndexAlsoNames = "index_also_names": "index.json also names {tag} for this image",
    IndexExtraImage = "index_extra_image": "index.json lists {image} which manifest.json does not; shown as well",
    RepositoriesNotObject = "repositories_not_object": "repositories is not a JSON object",
    RepositoriesExtraTag = "repositories_extra_tag": "{tag} is in repositories but not in manifest.json",
    Pre110NoDigests = "pre110_no_digests": "pre-1.10 archive: its layers carry no content digests, so only readability is checked",
    ParentChainLoop = "parent_chain_loop": "parent chain of {image} loops or is too long",

    // --- findings: the archive's bytes ---
    NoEndMarker = "no_end_marker": "the archive has no end-of-archive marker after its last entry \"{entry}\" (byte {offset}): it may be truncated",
    DuplicateEntry = "duplicate_entry": "{path} occurs more than once in the archive; the last copy is used",
    BlobNameMismatch = "blob_name_mismatch": "blob content does not match its name: expected {expected}, got {actual}",
    /// A file an operating system's file browser leaves beside the image (macOS `.DS_Store`
    /// and `._*` AppleDouble files, `__MACOSX/`, Windows `Thumbs.db` / `desktop.ini`), found
    /// when an archive was unpacked and packed again by hand: not part of any image, not a
    /// blob to check (an info finding: the image still verifies).
    JunkFile = "junk_file": "{path} is not part of any image: a file a desktop's file browser leaves beside files (such as macOS .DS_Store or ._ files); it is not checked",
    LayerUnreadable = "layer_unreadable": "layer could not be read in full: {problem}",
    /// An old GNU sparse entry (tar type `S`) in the outer archive: read expanded, as GNU
    /// A sparse map Go's archive/tar refuses, on an entry of the outer archive.
    OuterSparseMapRefused = "outer_sparse_map_refused": "a sparse file whose map docker load refuses: {detail}",
    /// tar and Python unpack it, but `docker load` does not take the archive.
    OuterOldGnuSparse = "outer_old_gnu_sparse": "{path} is stored as an old GNU sparse file (tar type 'S'): strata reads it expanded, as GNU tar and Python unpack it, but docker load refuses the archive (\"unhandled tar header type 83\"; with the containerd image store the file is skipped and the image is incomplete)",
    HistoryCountMismatch = "history_count_mismatch": "history has {history} entries that made a layer but the image has {layers} layers; mapped {mapped} of them",

    // --- merge warnings: the union filesystem (`location`: `layer N: path`) ---
    /// An old GNU sparse entry (tar type `S`): shown as GNU tar and Python unpack it.
    OldGnuSparse = "old_gnu_sparse": "an old GNU sparse file (tar type 'S'): GNU tar and Python unpack it as shown here, but Docker, containerd and podman refuse the layer (\"unhandled tar header type 83\")",
    MergeTooMany = "merge_too_many": "too many layers or entries to merge",
    MergeNamesLimit = "merge_names_limit": "the layers' entry names add up to more than {mib} MiB together; layer {layer} and above were not merged",
    MergeEntriesLimit = "merge_entries_limit": "the layers hold more than {max} entries together; layer {layer} and above were not merged",
    MergedTreeTooLarge = "merged_tree_too_large": "merged tree too large; the rest was not merged",
    SymlinkReplacedByDir = "symlink_replaced_by_dir": "this layer has entries under /{path}, where a lower layer has the symlink /{path} -> {target}: shown as a new directory that hides the symlink (Docker's overlay2 driver, podman); containerd and umoci would write through the symlink instead",
    HardlinkTargetMissing = "hardlink_target_missing": "hardlink target {target} does not exist",
    RootNotDirectory = "root_not_directory": "non-directory entry for the root; ignored",
    HardlinkBadTarget = "hardlink_bad_target": "hardlink with an empty or `..` target; ignored",
    HardlinkToDirectory = "hardlink_to_directory": "hardlink to a directory; ignored",
    PathDotDot = "path_dotdot": "path has a `..` component; not applied",
    EntryBelowWhiteout = "entry_below_whiteout": "entry below a whiteout name; not applied",
    BareWhiteout = "bare_whiteout": "bare `.wh.` whiteout names nothing; ignored",

    // --- errors: the archive (or a request) cannot be read at all (`Error::code`) ---
    NotTar = "not_tar": "not a tar archive: {detail}",
    NotImageArchive = "not_image_archive": "not an image archive: {detail}",
    Truncated = "truncated": "archive is truncated at byte {offset}: {detail}",
    TruncatedInEntry = "truncated_in_entry": "archive is truncated in entry \"{entry}\" at byte {offset}: {detail}",
    Unsupported = "unsupported": "unsupported: {detail}",
    LimitExceeded = "limit_exceeded": "limit exceeded: {detail}",
    ReadError = "read_error": "read error: {detail}",
    ReadErrorAt = "read_error_at": "read error at byte {offset}: {detail}",
    NotFound = "not_found": "not found: {what}",
    // --- what an error's `detail` says, when the core words it itself ---
    FileEmpty = "file_empty": "the file is empty",
    HeadIsZip = "head_is_zip": "the first 512 bytes are not a tar header (a zip file)",
    HeadIsPng = "head_is_png": "the first 512 bytes are not a tar header (a PNG image)",
    HeadIsPdf = "head_is_pdf": "the first 512 bytes are not a tar header (a PDF document)",
    HeadIsJson = "head_is_json": "the first 512 bytes are not a tar header (JSON text)",
    HeadTooShort = "head_too_short": "the first 512 bytes are not a tar header (too short to hold a tar header)",
    HeadUnrecognised = "head_unrecognised": "the first 512 bytes are not a tar header (unrecognised data)",
    Bzip2Archive = "bzip2_archive": "bzip2-compressed archives (decompress with bunzip2 first)",
    NoImageMetadata = "no_image_metadata": "a tar with {entries} entries but no manifest.json, index.json or repositories (first entry: \"{first}\")",
    TooManyEntries = "too_many_entries": "the archive has more than {max} entries",
    TooMuchMetadata = "too_much_metadata": "more than {max} bytes of small metadata files",
    NoTarEntries = "no_tar_entries": "no tar entries found",
    CompressedNoEntries = "compressed_no_entries": "the {compression} data holds no tar entries",
    TarHeaderUnreadable = "tar_header_unreadable": "{detail} (at the first header)",
    BadTarHeader = "bad_tar_header": "bad tar header at byte {offset} after entry \"{entry}\": {detail}",
    EntryHeaderRefused = "entry_header_refused": "entry \"{entry}\" at byte {offset}: {detail}",
    CompressedNotTarArchive = "compressed_not_tar_archive": "the {compression} data is not a tar archive: {detail}",
    FileTooBigToRead = "file_too_big_to_read": "a {size}-byte file is too big to read at once; download it instead",
    /// Text from a library below the core, passed on as it is.
    Text = "text": "{detail}",
    /// The page asked for something the core cannot do (a bad argument, a view not built):
    /// a bug in the caller, worded in English only.
    RequestRefused = "request_refused": "{detail}",
}

impl Code {
    /// The code named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == name)
    }

    /// The parameter names its template uses, in order of first use.
    pub fn param_names(self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for name in placeholders(self.template()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// The English text with `params` filled in. A parameter the template names but
    /// `params` lacks stays as `{name}`, so the gap is visible.
    pub fn english(self, params: &Params) -> String {
        let template = self.template();
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
            out.push_str(&rest[..open]);
            let name = &rest[open + 1..close];
            match params.get(name) {
                Some(value) => out.push_str(&value.to_string()),
                None => out.push_str(&rest[open..=close]),
            }
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The `{name}` placeholders of a template (names are `[A-Za-z0-9_]+`; other braces are text).
pub fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.split('{').skip(1).filter_map(|part| {
        let name = part.split_once('}')?.0;
        (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then_some(name)
    })
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Code::from_name(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown code {name:?}")))
    }
}

/// One parameter value: a number, text (archive data, shown as it is), or a coded message
/// (a reason inside a sentence; in JSON `{code, params, message}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    Number(u64),
    Text(String),
    Message(Box<Message>),
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Number(n) => write!(f, "{n}"),
            Param::Text(s) => f.write_str(s),
            Param::Message(m) => f.write_str(&m.english()),
        }
    }
}

impl From<u64> for Param {
    fn from(n: u64) -> Self {
        Param::Number(n)
    }
}
impl From<usize> for Param {
    fn from(n: usize) -> Self {
        Param::Number(n as u64)
    }
}
impl From<u32> for Param {
    fn from(n: u32) -> Self {
        Param::Number(u64::from(n))
    }
}
impl From<String> for Param {
    fn from(s: String) -> Self {
        Param::Text(s)
    }
}
impl From<&String> for Param {
    fn from(s: &String) -> Self {
        Param::Text(s.clone())
    }
}
impl From<&str> for Param {
    fn from(s: &str) -> Self {
        Param::Text(s.to_owned())
    }
}
impl From<Message> for Param {
    fn from(m: Message) -> Self {
        Param::Message(Box::new(m))
    }
}

/// Named parameters: in JSON an object (`{"layer": 2, "path": "…"}`).
pub type Params = BTreeMap<String, Param>;

/// A code with its parameters: what a finding, a verdict's reason or an error says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    pub code: Code,
    #[serde(default)]
    pub params: Params,
}

impl Message {
    /// A message with no parameters.
    pub fn new(code: Code) -> Message {
        Message { code, params: Params::new() }
    }

    /// Add a parameter (builder style: `Message::new(c).with("layer", 2)`).
    pub fn with(mut self, name: &str, value: impl Into<Param>) -> Message {
        self.params.insert(name.to_owned(), value.into());
        self
    }

    /// The English text, from the code's template.
    pub fn english(&self) -> String {
        self.code.english(&self.params)
    }
}

impl From<Code> for Message {
    fn from(code: Code) -> Self {
        Message::new(code)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.english())
    }
}

/// `{"code": …, "params": {…}, "message": "<English>"}`: the message rides along so a
/// reader that does not know the code can still show it.
impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Message", 3)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("params", &self.params)?;
        st.serialize_field("message", &self.english())?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(c.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{c}");
            assert_eq!(Code::from_name(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn english_fills_parameters() {
        let why = Message::new(Code::PathNotInArchive).with("path", "a/layer.tar");
        let m = Message::new(Code::LayerMissing).with("layer", 2usize).with("why", why);
        assert_eq!(m.english(), "layer 2 is missing: a/layer.tar is not in the archive");
        assert_eq!(Code::LayerMissing.param_names(), ["layer", "why"]);
        assert_eq!(Code::HardlinkBadTarget.param_names(), Vec::<&str>::new());
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["params"]["why"]["code"], "path_not_in_archive");
        assert_eq!(serde_json::from_value::<Message>(json).unwrap(), m);
    }
}
