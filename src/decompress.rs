//! Streaming decompressors, chosen by detected compression. All pure Rust, so they run
//! in wasm as they do natively.

use crate::error::Error;
use crate::gzip::{AccessIndex, GzipReader};
use crate::report::Compression;
use std::io::{self, BufRead, BufReader, Read};

/// A decompressing reader. A gzip one can note access points as it goes
/// ([`recording_decoder`]), so later reads can start near their bytes ([`decoder_at`]).
pub struct Decoder<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Gzip(GzipReader<Box<dyn Read + 'a>>),
    Other(Box<dyn Read + 'a>),
}

impl Read for Decoder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Gzip(r) => r.read(buf),
            Inner::Other(r) => r.read(buf),
        }
    }
}

impl Decoder<'_> {
    /// The access points a recording decoder noted (read to the end first). `None` for
    /// other compressions, and when the stream was too short to need any.
    pub fn take_access_index(&mut self) -> Option<AccessIndex> {
        match &mut self.inner {
            Inner::Gzip(r) => r.take_index().filter(|i| !i.points.is_empty()),
            Inner::Other(_) => None,
        }
    }
}

/// Wrap `inner` so it yields the decompressed bytes. `Compression::None` passes through.
pub fn decoder<'a>(compression: Compression, inner: Box<dyn Read + 'a>) -> io::Result<Decoder<'a>> {
    let inner = match compression {
        Compression::None => Inner::Other(inner),
        // Multi-member: eStargz layers and some whole-archive gzips have several members.
        Compression::Gzip => Inner::Gzip(GzipReader::new(inner)?),
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(BufReader::with_capacity(256 * 1024, inner))
                .map_err(zstd_error)?;
            Inner::Other(Box::new(ZstdFrames { current: Some(decoder) }))
        }
        Compression::Xz => Inner::Other(Box::new(lzma_rust2::XzReader::new_mem_limit(
            BufReader::with_capacity(256 * 1024, inner),
            true,
            XZ_MEMORY_LIMIT_KIB,
        ))),
        Compression::Bzip2 => {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "bzip2 compression is not supported"))
        }
    };
    Ok(Decoder { inner })
}

/// As [`decoder`], and a gzip stream also notes access points ([`Decoder::take_access_index`]).
pub fn recording_decoder<'a>(compression: Compression, inner: Box<dyn Read + 'a>) -> io::Result<Decoder<'a>> {
    if compression == Compression::Gzip {
        return Ok(Decoder { inner: Inner::Gzip(GzipReader::recording(inner)?) });
    }
    decoder(compression, inner)
}

/// The decompressed stream from offset `target` on. With an access point before `target`
/// (gzip streams that were read once by a recording decoder), decompression starts there:
/// `open(at)` must give the compressed bytes from offset `at` on. Otherwise it starts at
/// the beginning (`open(0)`). Either way the bytes up to `target` are decompressed and
/// dropped.
pub fn decoder_at<'a>(
    compression: Compression,
    index: Option<&AccessIndex>,
    target: u64,
    open: impl FnOnce(u64) -> Result<Box<dyn Read + 'a>, Error>,
) -> Result<Box<dyn Read + 'a>, Error> {
    let point = if compression == Compression::Gzip { index.and_then(|i| i.point_before(target)) } else { None };
    let (mut reader, at): (Box<dyn Read + 'a>, u64) = match point {
        Some(p) => (Box::new(GzipReader::resume(p, open(p.bit / 8)?)?), p.out),
        None => (Box::new(decoder(compression, open(0)?)?), 0),
    };
    let skip = target - at;
    let skipped = io::copy(&mut (&mut reader).take(skip), &mut io::sink())?;
    if skipped < skip {
        return Err(Error::Truncated {
            entry: None,
            offset: at + skipped,
            detail: format!("the {} stream ends before byte {target}", compression.as_str()),
        });
    }
    Ok(reader)
}

/// An xz block whose dictionary needs more than this is refused rather than allocated
/// (`xz -9` needs 64 MiB; a hostile header can ask for 4 GiB).
const XZ_MEMORY_LIMIT_KIB: u32 = 192 * 1024;

fn zstd_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
}

type ZstdDecoder<R> = ruzstd::decoding::StreamingDecoder<BufReader<R>, ruzstd::decoding::FrameDecoder>;

/// ruzstd's StreamingDecoder reads one frame; zstd streams may hold several concatenated
/// frames (pzstd, some registries). Continue with the next frame when one ends.
struct ZstdFrames<R: Read> {
    current: Option<ZstdDecoder<R>>,
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(decoder) = self.current.as_mut() else { return Ok(0) };
            let n = decoder.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            // This frame is finished: start the next one if more bytes follow.
            let Some(finished) = self.current.take() else { return Ok(0) };
            let (mut source, frame_decoder) = finished.into_parts();
            if source.fill_buf()?.is_empty() {
                return Ok(0);
            }
            let next = ruzstd::decoding::StreamingDecoder::new_with_decoder(source, frame_decoder).map_err(zstd_error)?;
            self.current = Some(next);
        }
    }
}

/// The memory a zstd or xz decoder of this stream will hold for its window, read from the
/// stream's first bytes (`head`, 64 are plenty): zstd's frame header, or the LZMA2
/// dictionary size in xz's first block header. `None` when `head` does not say (another
/// compression, a damaged header, or a zstd frame preceded by a skippable one). Later zstd
/// frames or xz blocks may ask for another size; this is an estimate for deciding how many
/// decoders to keep, not a limit.
pub fn window_size(compression: Compression, head: &[u8]) -> Option<u64> {
    match compression {
        Compression::Zstd => zstd_window(head),
        Compression::Xz => xz_dictionary(head),
        _ => None,
    }
}

/// RFC 8878 §3.1.1.1: magic, Frame_Header_Descriptor, then the Window_Descriptor, or for a
/// single-segment frame the Frame_Content_Size (the window is the whole content).
fn zstd_window(head: &[u8]) -> Option<u64> {
    if head.get(..4)? != [0x28, 0xb5, 0x2f, 0xfd] {
        return None;
    }
    let descriptor = *head.get(4)?;
    let single_segment = descriptor & 0x20 != 0;
    if !single_segment {
        let w = *head.get(5)?;
        let base = 1u64 << (10 + (w >> 3));
        return Some(base + base / 8 * u64::from(w & 7));
    }
    let dictionary_id_len = [0usize, 1, 2, 4][usize::from(descriptor & 3)];
    let content_size_len = [1usize, 2, 4, 8][usize::from(descriptor >> 6)];
    let at = 5 + dictionary_id_len;
    let field = head.get(at..at + content_size_len)?;
    let mut size = field.iter().rev().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
    if content_size_len == 2 {
        size += 256;
    }
    Some(size)
}

/// xz: the 12-byte stream header, then the first block header: its size, its flags (how
/// many filters, whether the sizes are present as varints), then each filter's id and
/// properties. LZMA2 (id 0x21) has one property byte, the dictionary size.
fn xz_dictionary(head: &[u8]) -> Option<u64> {
    if head.get(..6)? != [0xfd, b'7', b'z', b'X', b'Z', 0] {
        return None;
    }
    let block = head.get(12..)?;
    if *block.first()? == 0 {
        return None; // no block: an empty stream (the index follows)
    }
    let flags = *block.get(1)?;
    let mut at = 2;
    for present in [flags & 0x40 != 0, flags & 0x80 != 0] {
        if present {
            xz_varint(block, &mut at)?;
        }
    }
    let mut dictionary = None;
    for _ in 0..=(flags & 3) {
        let id = xz_varint(block, &mut at)?;
        let props_len = usize::try_from(xz_varint(block, &mut at)?).ok()?;
        let props = block.get(at..at.checked_add(props_len)?)?;
        at += props_len;
        if id == 0x21 {
            dictionary = match props {
                [b @ 0..=39] => Some(u64::from(2 | (b & 1)) << (b / 2 + 11)),
                [40] => Some(u64::from(u32::MAX)),
                _ => None,
            };
        }
    }
    dictionary
}

/// xz's variable-length integer (7 bits a byte, low first) at `block[*at..]`.
fn xz_varint(block: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..63).step_by(7) {
        let b = *block.get(*at)?;
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(cmd: &[&str]) -> Vec<u8> {
        let mut out = crate::fixture::pipe_through(cmd, &vec![7u8; 300_000]);
        out.truncate(64);
        out
    }

    #[test]
    fn zstd_window_from_real_frame_headers() {
        // zstd writes a window descriptor for streamed input (`-c` from a pipe) whose size
        // is unknown, and the content size for small known inputs; --long=27 asks 128 MiB.
        assert_eq!(window_size(Compression::Zstd, &head_of(&["zstd", "-q", "-c", "--no-content-size", "--long=27"])), Some(128 << 20));
        let window = window_size(Compression::Zstd, &head_of(&["zstd", "-q", "-c", "-3"])).expect("a window");
        assert!((256 << 10..=8 << 20).contains(&window), "{window}");
        // hand-made: single segment, 2-byte content size (value + 256)
        assert_eq!(window_size(Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x10, 0x00]), Some(0x10 + 256));
        // descriptor 0x68: 2^(10+13) = 8 MiB, no mantissa
        assert_eq!(window_size(Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x68]), Some(8 << 20));
        assert_eq!(window_size(Compression::Zstd, &[0x28, 0xb5, 0x2f, 0xfd, 0x04]), None);
        assert_eq!(window_size(Compression::Zstd, b"not zstd"), None);
    }

    #[test]
    fn xz_dictionary_from_real_block_headers() {
        assert_eq!(window_size(Compression::Xz, &head_of(&["xz", "-q", "-c", "-9"])), Some(64 << 20));
        assert_eq!(window_size(Compression::Xz, &head_of(&["xz", "-q", "-c", "-0"])), Some(256 << 10));
        // the size varints in block headers that multi-threaded xz writes are skipped
        let sized = head_of(&["xz", "-q", "-c", "-6", "--block-size=100000", "-T2"]);
        assert_ne!(sized[13] & 0xc0, 0, "block header with sizes");
        assert_eq!(window_size(Compression::Xz, &sized), Some(8 << 20));
        // a header cut short is no answer (the LZMA2 property byte is byte 16)
        let whole = head_of(&["xz", "-q", "-c", "-6"]);
        assert_eq!(window_size(Compression::Xz, &whole[..17]), Some(8 << 20));
        for cut in 0..17 {
            assert_eq!(window_size(Compression::Xz, &whole[..cut]), None, "cut at {cut}");
        }
        assert_eq!(window_size(Compression::Gzip, &whole), None);
    }
}
