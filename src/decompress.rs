//! Streaming decompressors, chosen by detected compression. All pure Rust, so they run
//! in wasm as they do natively.

use crate::report::Compression;
use std::io::{self, BufRead, BufReader, Read};

/// Wrap `inner` so it yields the decompressed bytes. `Compression::None` passes through.
pub fn decoder<'a>(compression: Compression, inner: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        Compression::None => inner,
        // Multi-member: eStargz layers and some whole-archive gzips have several members.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, inner))),
        Compression::Zstd => {
            let decoder = ruzstd::decoding::StreamingDecoder::new(BufReader::with_capacity(256 * 1024, inner))
                .map_err(zstd_error)?;
            Box::new(ZstdFrames { current: Some(decoder) })
        }
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            BufReader::with_capacity(256 * 1024, inner),
            true,
            XZ_MEMORY_LIMIT_KIB,
        )),
        Compression::Bzip2 => {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "bzip2 compression is not supported"))
        }
    })
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
