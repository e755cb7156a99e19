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
