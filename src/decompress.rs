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

// The zstd variant holds its frame decoder inline (~840 bytes). There is one `Inner` per
// open layer stream, so the size costs nothing, and boxing it would add an indirection.
#[allow(clippy::large_enum_variant)]
enum Inner<'a> {
    Gzip(GzipReader<Box<dyn Read + 'a>>),
    Zstd(ZstdFrames<Box<dyn Read + 'a>>),
    Other(Box<dyn Read + 'a>),
}

impl Read for Decoder<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Gzip(r) => r.read(buf),
            Inner::Zstd(r) => r.read(buf),
            Inner::Other(r) => r.read(buf),
        }
    }
}

impl Decoder<'_> {
    /// The access points a recording decoder noted (read to the end first): gzip deflate
    /// blocks, zstd frames. `None` for other compressions, and when the stream was too
    /// short (or, for zstd, one frame) to have any.
    pub fn take_access_index(&mut self) -> Option<AccessIndex> {
        let index = match &mut self.inner {
            Inner::Gzip(r) => r.take_index(),
            Inner::Zstd(r) => r.recording.take(),
            Inner::Other(_) => None,
        };
        index.filter(|i| !i.points.is_empty())
    }

    /// The largest window a frame of this zstd stream asked for, as far as it was read
    /// (`None` for other compressions): what the decoder holds by the end.
    pub fn largest_window(&self) -> Option<u64> {
        match &self.inner {
            Inner::Zstd(r) => Some(r.largest_window),
            _ => None,
        }
    }
}

/// Wrap `inner` so it yields the decompressed bytes. `Compression::None` passes through.
pub fn decoder<'a>(compression: Compression, inner: Box<dyn Read + 'a>) -> io::Result<Decoder<'a>> {
    let inner = match compression {
        Compression::None => Inner::Other(inner),
        // Multi-member: eStargz layers and some whole-archive gzips have several members.
        Compression::Gzip => Inner::Gzip(GzipReader::new(inner)?),
        Compression::Zstd => Inner::Zstd(zstd_frames(inner, 0, 0, false)?),
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

/// As [`decoder`], and a gzip or zstd stream also notes access points
/// ([`Decoder::take_access_index`]; zstd also its largest window, [`Decoder::largest_window`]).
pub fn recording_decoder<'a>(compression: Compression, inner: Box<dyn Read + 'a>) -> io::Result<Decoder<'a>> {
    match compression {
        Compression::Gzip => Ok(Decoder { inner: Inner::Gzip(GzipReader::recording(inner)?) }),
        Compression::Zstd => Ok(Decoder { inner: Inner::Zstd(zstd_frames(inner, 0, 0, true)?) }),
        _ => decoder(compression, inner),
    }
}

/// A zstd reader whose first frame has started (a stream that is not zstd fails here, as
/// other decoders fail when they are made). An empty stream is an empty output.
fn zstd_frames<R: Read>(inner: R, start: u64, out: u64, recording: bool) -> io::Result<ZstdFrames<R>> {
    let mut frames = ZstdFrames::new(inner, start, out, recording);
    frames.next_frame()?;
    Ok(frames)
}

/// The decompressed stream from offset `target` on. With an access point before `target`
/// (gzip and multi-frame zstd streams that were read once by a recording decoder),
/// decompression starts there:
/// `open(at)` must give the compressed bytes from offset `at` on. Otherwise it starts at
/// the beginning (`open(0)`). Either way the bytes up to `target` are decompressed and
/// dropped.
pub fn decoder_at<'a>(
    compression: Compression,
    index: Option<&AccessIndex>,
    target: u64,
    open: impl FnOnce(u64) -> Result<Box<dyn Read + 'a>, Error>,
) -> Result<Box<dyn Read + 'a>, Error> {
    let point = match compression {
        Compression::Gzip | Compression::Zstd => index.and_then(|i| i.point_before(target)),
        _ => None,
    };
    let (mut reader, at): (Box<dyn Read + 'a>, u64) = match point {
        Some(p) if compression == Compression::Gzip => (Box::new(GzipReader::resume(p, open(p.bit / 8)?)?), p.out),
        // a zstd frame starts there: a decoder needs nothing before it
        Some(p) => (Box::new(zstd_frames(open(p.bit / 8)?, p.bit / 8, p.out, false)?), p.out),
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

/// The first spacing of a zstd stream's access points. A zstd point is two numbers (no
/// window, unlike gzip's 32 KiB), so they can be many and near: over `ZSTD_MAX_POINTS`
/// (16 KiB of points per layer) the spacing doubles, as for gzip. A `zstd:chunked` layer
/// has a frame per file, so one file is then read after decompressing at most a spacing
/// (~256 KiB in a 150 MB layer), not the 2–4 MiB of gzip's spacing.
const ZSTD_FIRST_SPACING: u64 = 64 << 10;
pub const ZSTD_MAX_POINTS: usize = 1024;

/// A zstd stream: its frames one after another (pzstd and some registries write several;
/// `zstd:chunked` layers hold one or more per file), skipping skippable frames (RFC 8878
/// §3.1.2: `zstd:chunked` keeps its table of contents in them; every decoder must pass
/// over them). ruzstd's `StreamingDecoder` reads one frame and stops at a skippable one,
/// so the frames are walked here, with one `FrameDecoder` reused from frame to frame.
///
/// Frames are independent, so the start of one is a place to begin decompressing: a
/// recording reader notes such starts as access points (no window: `bit` is the frame's
/// byte offset × 8; see [`ZSTD_FIRST_SPACING`]). It also notes the largest window any
/// frame asked for: the memory the decoder ends up holding.
struct ZstdFrames<R: Read> {
    source: BufReader<CountingReader<R>>,
    frame: ruzstd::decoding::FrameDecoder,
    /// Inside a frame (its header read, not yet all of it handed out).
    in_frame: bool,
    /// Offset of this reader's first byte in the whole compressed stream (a reader started
    /// at an access point), so the points it notes are in the stream's terms.
    start: u64,
    /// Uncompressed offset of the next byte to hand out (a reader started at an access
    /// point begins at the point's).
    out: u64,
    recording: Option<AccessIndex>,
    largest_window: u64,
}

/// Counts the bytes read through it.
struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<R: Read> ZstdFrames<R> {
    /// A reader of the stream whose byte `start` (a frame's first) is `inner`'s first, and
    /// whose decompressed output from there begins at offset `out`.
    fn new(inner: R, start: u64, out: u64, recording: bool) -> Self {
        ZstdFrames {
            source: BufReader::with_capacity(256 * 1024, CountingReader { inner, count: 0 }),
            frame: ruzstd::decoding::FrameDecoder::new(),
            in_frame: false,
            start,
            out,
            recording: recording.then(|| AccessIndex::with_spacing(ZSTD_FIRST_SPACING)),
            largest_window: 0,
        }
    }

    /// Offset in the compressed stream of the next byte not yet taken from the buffer.
    fn position(&self) -> u64 {
        self.start + self.source.get_ref().count - self.source.buffer().len() as u64
    }

    /// At a frame boundary: start the next zstd frame, passing over skippable ones.
    /// False at the end of the stream.
    fn next_frame(&mut self) -> io::Result<bool> {
        loop {
            let head = self.source.fill_buf()?;
            if head.is_empty() {
                return Ok(false);
            }
            // (a header split by the buffer's end is not measured: the estimate stays lower)
            if let Some(window) = zstd_window(head) {
                self.largest_window = self.largest_window.max(window);
            }
            let at = self.position();
            match self.frame.reset(&mut self.source) {
                Ok(()) => {
                    if let Some(index) = self.recording.as_mut() {
                        if index.due(self.out) {
                            let point = crate::gzip::AccessPoint { out: self.out, bit: at * 8, window: Vec::new() };
                            index.push_up_to(point, ZSTD_MAX_POINTS);
                        }
                    }
                    self.in_frame = true;
                    return Ok(true);
                }
                Err(ruzstd::decoding::errors::FrameDecoderError::ReadFrameHeaderError(
                    ruzstd::decoding::errors::ReadFrameHeaderError::SkipFrame { length, .. },
                )) => {
                    let want = u64::from(length);
                    let skipped = io::copy(&mut (&mut self.source).take(want), &mut io::sink())?;
                    if skipped < want {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("zstd: the skippable frame at byte {at} ends after {skipped} of its {want} bytes"),
                        ));
                    }
                }
                Err(e) => return Err(zstd_error(format!("frame at byte {at}: {e}"))),
            }
        }
    }
}

impl<R: Read> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.in_frame {
                while self.frame.can_collect() == 0 && !self.frame.is_finished() {
                    self.frame
                        .decode_blocks(&mut self.source, ruzstd::decoding::BlockDecodingStrategy::UptoBlocks(1))
                        .map_err(zstd_error)?;
                }
                let n = self.frame.read(buf)?;
                if n > 0 {
                    self.out += n as u64;
                    return Ok(n);
                }
                self.in_frame = false;
            }
            if !self.next_frame()? {
                return Ok(0);
            }
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

    fn chunked_zstd(data: &[u8]) -> Vec<u8> {
        crate::fixture::pipe_through(crate::fixture::ZSTD_CHUNKED_SHAPE, data)
    }

    fn text(len: usize) -> Vec<u8> {
        (0..len).map(|i| b"zstd frames and skippable frames\n"[i % 33] ^ (i / 7919) as u8).collect()
    }

    fn read_all(mut r: impl Read) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn zstd_frames_and_skippable_frames_decode_like_the_zstd_tool() {
        let data = text(9 << 20);
        let stored = chunked_zstd(&data);
        assert_eq!(&stored[..4], &[0x50, 0x2a, 0x4d, 0x18], "starts with a skippable frame");
        assert_eq!(crate::detect::compression(&stored), Compression::Zstd);
        assert_eq!(crate::fixture::pipe_through(&["zstd", "-dc"], &stored), data, "the reference decoder");
        let mut decoder = recording_decoder(Compression::Zstd, Box::new(&stored[..])).expect("decoder");
        assert!(read_all(&mut decoder).expect("decode") == data);
        // A frame starts every 64 KiB: each start but the first is a point.
        let index = decoder.take_access_index().expect("access points");
        assert_eq!(index.points.len(), data.len() / 65536 - 1);
        for p in &index.points {
            assert_eq!(p.out % 65536, 0, "a point at a frame start");
            assert!(p.window.is_empty());
        }
        // (every frame is alike: the first one's header, after the 10-byte skippable frame)
        assert_eq!(decoder.largest_window(), zstd_window(&stored[10..]), "the frames' window");
        assert!(decoder.largest_window() >= Some(65536));
        // Starting at each point, or between them, gives the bytes from there on.
        for target in [0, 1, 65536, 2_100_000, 4_800_000, 5_999_999, data.len() as u64 - 5, data.len() as u64] {
            let open = |at: u64| -> Result<Box<dyn Read>, Error> { Ok(Box::new(&stored[at as usize..])) };
            let from = read_all(decoder_at(Compression::Zstd, Some(&index), target, open).expect("decoder_at")).expect("read");
            assert!(from == data[target as usize..], "from {target}");
        }
        // One frame, no skippable ones: no points.
        let single = crate::fixture::pipe_through(&["zstd", "-q", "-c"], &data);
        let mut decoder = recording_decoder(Compression::Zstd, Box::new(&single[..])).expect("decoder");
        assert!(read_all(&mut decoder).expect("decode") == data);
        assert!(decoder.take_access_index().is_none());
        // Frames that ask for different windows: the largest is what the decoder holds.
        let small = crate::fixture::pipe_through(&["zstd", "-q", "-c", "-1"], &data[..5000]);
        let big = crate::fixture::pipe_through(&["zstd", "-q", "-c", "--long=24", "--no-content-size"], &data);
        let mut decoder = super::decoder(Compression::Zstd, Box::new(std::io::Cursor::new([small.clone(), big].concat()))).expect("decoder");
        assert_eq!(read_all(&mut decoder).expect("decode").len(), 5000 + data.len());
        assert!(zstd_window(&small) < Some(16 << 20), "{:?}", zstd_window(&small));
        assert_eq!(decoder.largest_window(), Some(16 << 20));
    }

    #[test]
    fn a_cut_skippable_frame_is_an_error_that_says_where() {
        let data = text(100_000);
        let stored = chunked_zstd(&data);
        // the last bytes are the last skippable frame's "toc": cut inside it
        let cut = &stored[..stored.len() - 2];
        let err = read_all(decoder(Compression::Zstd, Box::new(cut)).expect("decoder")).expect_err("cut");
        assert!(err.to_string().contains("skippable frame"), "{err}");
        // a stream that is only a skippable frame decodes to nothing
        let only = [0x50, 0x2a, 0x4d, 0x18, 1, 0, 0, 0, b'x'];
        assert_eq!(read_all(decoder(Compression::Zstd, Box::new(&only[..])).expect("decoder")).expect("empty"), b"");
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
