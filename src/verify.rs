//! Verify: read one blob once, and learn everything about it in that pass — the digest
//! and size of the stored bytes, the compression (from bytes), and for a layer the
//! diff_id (digest of the whole uncompressed stream) and its entry index.

use crate::codes::{Code, Message};
use crate::detect;
use crate::io::HashingReader;
use crate::layer::{self, LayerIndex};
use crate::report::Compression;
use std::io::{self, Cursor, Read};

/// What one pass over a blob found. Serialisable, so a parallel worker can compute it
/// and hand it to the worker that owns the `Archive` (`Archive::set_blob_facts`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct BlobFacts {
    /// `sha256:<hex>` of the bytes as stored.
    pub digest: String,
    pub stored_size: u64,
    pub compression: Compression,
    /// The (decompressed) content is a tar stream.
    pub is_tar: bool,
    /// `sha256:<hex>` of the whole uncompressed stream (layers only).
    pub diff_id: Option<String>,
    pub uncompressed_size: Option<u64>,
    pub layer: Option<LayerIndex>,
    /// Why the blob could not be read in full (decompression error, bad tar, ...).
    pub problem: Option<Message>,
    /// The (uncompressed) stream was read to its end, so `diff_id` covers all of it.
    pub stream_complete: bool,
    /// The bytes themselves, when the caller asked to keep small non-layer blobs.
    pub kept: Option<Vec<u8>>,
    /// Where decompression can restart in a gzip layer (or a zstd layer of several
    /// frames), so one file is read without decompressing the layer up to it.
    pub access: Option<crate::gzip::AccessIndex>,
    /// The largest window any frame of a zstd layer asked for: the memory its decoder
    /// holds once past that frame (the first frame's header alone can say far less:
    /// `zstd:chunked` starts with small frames and has 32 MiB ones for big files).
    pub decoder_window: Option<u64>,
}

/// How to treat a blob's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treat {
    /// Hash only.
    Plain,
    /// Decompress and index if the bytes are (compressed) tar; otherwise hash only.
    Sniff,
}

/// Analyse one blob from a reader positioned at its first byte and limited to its size.
/// `keep_up_to`: keep the bytes of a non-layer blob no larger than this (streaming scans
/// need the JSON files later; layers are never kept).
pub fn analyze(reader: &mut dyn Read, treat: Treat, keep_up_to: u64) -> BlobFacts {
    analyze_inner(HashingReader::new(reader), treat, keep_up_to, None)
}

/// As [`analyze`], for a caller that has already computed the SHA-256 of exactly these
/// stored bytes (the browser's WebCrypto is ~3x faster than SHA-256 in wasm): the stored
/// bytes are read and counted but not hashed again, and `digest` (`sha256:<hex>`) becomes
/// the blob's digest, and its diff_id when the blob is an uncompressed layer. Compressed
/// layers still hash their decompressed stream here.
pub fn analyze_with_digest(reader: &mut dyn Read, treat: Treat, digest: &str) -> BlobFacts {
    analyze_inner(HashingReader::counting(reader), treat, 0, Some(digest))
}

/// As [`analyze`], but the stored bytes are handed to `elsewhere` as they pass, in pieces
/// of `piece` bytes (the last one shorter), instead of being hashed here (the browser hashes
/// them with WebCrypto in another worker, in parallel). The facts come back without a
/// digest; [`set_digest`] completes them.
pub fn analyze_hashed_elsewhere(reader: &mut dyn Read, treat: Treat, keep_up_to: u64, piece: usize, elsewhere: &mut dyn FnMut(&[u8])) -> BlobFacts {
    let mut tee = PieceTee::new(reader, Some(elsewhere), piece);
    let mut facts = analyze_stored(HashingReader::counting(&mut tee), treat, keep_up_to, None);
    tee.finish();
    facts.digest.clear();
    facts
}

/// As [`analyze`] (`Treat::Sniff`), with both SHA-256s left to the caller, who hashes them
/// with WebCrypto (native SHA-256, ~3x the speed of SHA-256 in wasm) while the core
/// decompresses: the stored digest over the same bytes the caller read ([`set_digest`]
/// completes it), and a compressed layer's decompressed stream, which is handed to
/// `uncompressed` in pieces of [`HANDED_OUT_PIECE`] bytes as it is read ([`set_diff_id`]
/// completes it when [`wants_diff_id`] says one is due). On the bench image as an
/// oci-archive with gzip layers, the SHA-256 of the decompressed stream was about half of
/// the core's work on each layer.
pub fn analyze_digests_elsewhere(reader: &mut dyn Read, uncompressed: &mut dyn FnMut(&[u8])) -> BlobFacts {
    let mut facts = analyze_stored(HashingReader::counting(reader), Treat::Sniff, 0, Some(uncompressed));
    facts.digest.clear();
    facts
}

/// Whether [`set_diff_id`] is due after [`analyze_digests_elsewhere`]: a compressed tar
/// layer read to its end, so every byte of its decompressed stream was handed out.
pub fn wants_diff_id(facts: &BlobFacts) -> bool {
    facts.compression != Compression::None && facts.is_tar && facts.stream_complete && facts.diff_id.is_none()
}

/// Record the SHA-256 (`sha256:<hex>`) of a compressed layer's decompressed stream,
/// computed elsewhere over what [`analyze_digests_elsewhere`] handed out. Ignored unless
/// [`wants_diff_id`]: a stream that was not read to its end has no diff_id.
pub fn set_diff_id(facts: &mut BlobFacts, diff_id: &str) {
    if wants_diff_id(facts) {
        facts.diff_id = Some(diff_id.to_string());
    }
}

/// The size of the pieces [`analyze_digests_elsewhere`] hands out (the last one of a
/// stream is shorter).
pub const HANDED_OUT_PIECE: usize = 1 << 20;

/// Record the SHA-256 of a blob's stored bytes (`sha256:<hex>`), and with it the diff_id of
/// an uncompressed layer, whose stored bytes *are* its layer stream.
pub fn set_digest(facts: &mut BlobFacts, digest: &str) {
    facts.digest = digest.to_string();
    if facts.compression == Compression::None && facts.is_tar && facts.stream_complete {
        facts.diff_id = Some(facts.digest.clone());
    }
}

/// Where bytes handed out of a pass go.
type Sink<'s> = &'s mut dyn FnMut(&[u8]);

/// Passes every byte read through to `sink` as well (if there is one), in pieces of `size`
/// bytes; `finish` hands out the rest. (Reads come in all sizes, down to 512-byte tar
/// headers: one call out per read would cost more than the copy into a piece.)
struct PieceTee<'r, 's> {
    inner: &'r mut dyn Read,
    sink: Option<Sink<'s>>,
    size: usize,
    piece: Vec<u8>,
}

impl<'r, 's> PieceTee<'r, 's> {
    fn new(inner: &'r mut dyn Read, sink: Option<Sink<'s>>, size: usize) -> Self {
        PieceTee { inner, sink, size: size.max(1), piece: Vec::new() }
    }

    fn finish(&mut self) {
        if let Some(sink) = &mut self.sink {
            if !self.piece.is_empty() {
                sink(&self.piece);
                self.piece.clear();
            }
        }
    }
}

impl Read for PieceTee<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.sink.is_none() {
            return Ok(n);
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            if self.piece.capacity() == 0 {
                self.piece.reserve_exact(self.size);
            }
            let take = rest.len().min(self.size - self.piece.len());
            self.piece.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.piece.len() == self.size {
                self.finish();
            }
        }
        Ok(n)
    }
}

fn analyze_inner(stored: HashingReader<&mut dyn Read>, treat: Treat, keep_up_to: u64, known: Option<&str>) -> BlobFacts {
    let mut facts = analyze_stored(stored, treat, keep_up_to, None);
    let digest = match known {
        Some(d) => d.to_string(),
        None => std::mem::take(&mut facts.digest),
    };
    set_digest(&mut facts, &digest);
    facts
}

/// `uncompressed`: where a compressed layer's decompressed stream goes instead of being
/// hashed here (see [`analyze_digests_elsewhere`]).
fn analyze_stored(
    mut stored: HashingReader<&mut dyn Read>,
    treat: Treat,
    keep_up_to: u64,
    uncompressed: Option<Sink<'_>>,
) -> BlobFacts {
    let mut facts = BlobFacts::default();
    let mut head = Vec::with_capacity(512);
    if let Err(e) = (&mut stored).take(512).read_to_end(&mut head) {
        facts.problem = Some(Message::new(Code::ReadFailed).with("detail", e.to_string()));
        finish_stored(stored, &mut facts);
        return facts;
    }
    facts.compression = detect::compression(&head);
    // A zero-byte blob is an empty tar (what Go's archive/tar, the tar crate and umoci read
    // it as), so a layer stored as zero bytes is an empty layer, not "not a tar".
    let looks_layer = treat == Treat::Sniff
        && (facts.compression != Compression::None || head.is_empty() || detect::looks_like_tar(&head));
    if !looks_layer {
        keep_or_hash(stored, head, keep_up_to, &mut facts);
        return facts;
    }
    {
        let whole: Box<dyn Read + '_> = Box::new(Cursor::new(head).chain(&mut stored));
        analyze_layer(whole, &mut facts, uncompressed);
    }
    // Whatever the decompressor left unread (trailing bytes) still belongs to the blob.
    finish_stored(stored, &mut facts);
    facts
}

fn keep_or_hash(mut stored: HashingReader<&mut dyn Read>, head: Vec<u8>, keep_up_to: u64, facts: &mut BlobFacts) {
    if keep_up_to > 0 {
        let mut bytes = head;
        let limit = keep_up_to.saturating_sub(bytes.len() as u64) + 1;
        match (&mut stored).take(limit).read_to_end(&mut bytes) {
            Ok(_) if (bytes.len() as u64) <= keep_up_to => facts.kept = Some(bytes),
            Ok(_) => {}
            Err(e) => facts.problem = Some(Message::new(Code::ReadFailed).with("detail", e.to_string())),
        }
    }
    finish_stored(stored, facts);
}

fn finish_stored(mut stored: HashingReader<&mut dyn Read>, facts: &mut BlobFacts) {
    if let Err(e) = io::copy(&mut stored, &mut io::sink()) {
        facts.problem.get_or_insert(Message::new(Code::ReadFailedAt).with("offset", stored.count).with("detail", e.to_string()));
    }
    let (digest, size) = stored.finish();
    facts.digest = digest;
    facts.stored_size = size;
}

fn analyze_layer(whole: Box<dyn Read + '_>, facts: &mut BlobFacts, elsewhere: Option<Sink<'_>>) {
    let mut decoded = match crate::decompress::recording_decoder(facts.compression, whole) {
        Ok(d) => d,
        Err(e) => {
            facts.problem = Some(cannot_decompress(facts.compression, &e));
            return;
        }
    };
    // An uncompressed layer's diff_id equals its stored digest: skip the second SHA-256.
    // A compressed one's is hashed here, or its stream is handed out to be hashed elsewhere.
    let compressed = facts.compression != Compression::None;
    let elsewhere = elsewhere.filter(|_| compressed);
    let hash_here = compressed && elsewhere.is_none();
    let mut tee = PieceTee::new(&mut decoded, elsewhere, HANDED_OUT_PIECE);
    let (index, problem, size, diff_id) = {
        let mut uncompressed = if hash_here { HashingReader::new(&mut tee) } else { HashingReader::counting(&mut tee) };
        let mut head = Vec::with_capacity(512);
        if let Err(e) = (&mut uncompressed).take(512).read_to_end(&mut head) {
            facts.problem = Some(cannot_decompress(facts.compression, &e));
            return;
        }
        if !head.is_empty() && !detect::looks_like_tar(&head) {
            // Compressed, but not a tar inside: not a layer. Do not inflate the rest
            // (a gzip bomb in a "JSON" member stays cheap).
            facts.problem = Some(Message::new(Code::CompressedNotTar).with("compression", facts.compression.as_str()));
            return;
        }
        facts.is_tar = true;
        let (index, problem) = {
            let mut whole = Cursor::new(head).chain(&mut uncompressed);
            layer::index_stream(&mut whole)
        };
        (index, problem, uncompressed.count, uncompressed.hasher.map(crate::io::sha256_digest))
    };
    tee.finish();
    drop(tee);
    // A bad tar header inside a fully read stream still leaves a valid digest: report
    // both the broken structure and the (probably mismatching) diff_id.
    let stream_complete = problem.as_ref().is_none_or(|p| !p.stream_failed);
    if let Some(p) = &problem {
        facts.problem = Some(p.message.clone());
    }
    if stream_complete {
        facts.diff_id = diff_id;
    }
    facts.stream_complete = stream_complete;
    facts.uncompressed_size = Some(size);
    facts.layer = Some(index);
    if stream_complete {
        facts.access = decoded.take_access_index();
    }
    facts.decoder_window = decoded.largest_window();
}

fn cannot_decompress(compression: Compression, e: &io::Error) -> Message {
    Message::new(Code::CannotDecompress).with("compression", compression.as_str()).with("detail", e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::sha256_of;
    use std::io::Write;

    fn small_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "etc/hello", &b"hello"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn plain_layer_digest_equals_diff_id() {
        let t = small_tar();
        let f = analyze(&mut &t[..], Treat::Sniff, 0);
        assert!(f.is_tar, "{:?}", f.problem);
        assert_eq!(f.digest, sha256_of(&t));
        assert_eq!(f.diff_id.as_deref(), Some(sha256_of(&t).as_str()));
        assert_eq!(f.layer.as_ref().unwrap().entries.len(), 1);
    }

    #[test]
    fn gzip_layer_has_both_digests() {
        let t = small_tar();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t).unwrap();
        let gz = gz.finish().unwrap();
        let f = analyze(&mut &gz[..], Treat::Sniff, 0);
        assert_eq!(f.compression, Compression::Gzip);
        assert_eq!(f.digest, sha256_of(&gz));
        assert_eq!(f.diff_id.as_deref(), Some(sha256_of(&t).as_str()));
        assert_eq!(f.uncompressed_size, Some(t.len() as u64));
    }

    #[test]
    fn a_digest_from_elsewhere_is_used_as_given() {
        let t = small_tar();
        let given = format!("sha256:{}", "ab".repeat(32));
        let f = analyze_with_digest(&mut &t[..], Treat::Sniff, &given);
        assert_eq!(f.digest, given, "the stored bytes are not hashed again");
        assert_eq!(f.diff_id.as_deref(), Some(given.as_str()), "uncompressed: diff_id is the stored digest");
        assert_eq!(f.stored_size, t.len() as u64);
        assert_eq!(f.layer.as_ref().unwrap().entries.len(), 1);
        // a compressed layer still hashes its decompressed stream
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t).unwrap();
        let gz = gz.finish().unwrap();
        let f = analyze_with_digest(&mut &gz[..], Treat::Sniff, &given);
        assert_eq!(f.digest, given);
        assert_eq!(f.diff_id.as_deref(), Some(sha256_of(&t).as_str()));
        // everything but the stored digest matches a full analysis
        let full = analyze(&mut &gz[..], Treat::Sniff, 0);
        assert_eq!(
            (f.compression, f.is_tar, f.uncompressed_size, f.stream_complete),
            (full.compression, full.is_tar, full.uncompressed_size, full.stream_complete)
        );
    }

    #[test]
    fn keeps_small_json() {
        let j = br#"{"a":1}"#;
        let f = analyze(&mut &j[..], Treat::Sniff, 1024);
        assert_eq!(f.kept.as_deref(), Some(&j[..]));
        assert_eq!(f.digest, sha256_of(j));
        let f = analyze(&mut &j[..], Treat::Sniff, 3);
        assert!(f.kept.is_none());
        assert_eq!(f.stored_size, 7);
    }
}
