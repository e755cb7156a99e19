//! The glue between an opened [`Archive`] and the merge: an image's layer indexes, and
//! the archive as a [`ContentSource`] of file bytes.

use super::read::ContentSource;
use crate::layer::{LayerEntry, LayerIndex};
use crate::report::{Compression, Image};
use crate::io::SharedSource;
use crate::{Archive, Error, ReadSeek};
use std::io::{self, Read};

/// Stands in for a layer whose index is unknown (missing or foreign blob), so layer
/// numbers in the merge stay the image's own layer numbers.
static EMPTY_LAYER: LayerIndex = LayerIndex { entries: Vec::new(), uncompressed_size: 0 };

/// The layers of one image, bottom first, ready for [`super::MergedTree::build`].
#[derive(Debug, Clone)]
pub struct ImageLayers<'a> {
    /// One per image layer; an empty index where the layer could not be indexed.
    pub indexes: Vec<&'a LayerIndex>,
    /// Blob handle of each layer, if the archive has it.
    pub blobs: Vec<Option<usize>>,
    /// Layer numbers that have no index (missing, foreign, or not indexed yet): the merged
    /// tree is incomplete when this is not empty.
    pub missing: Vec<usize>,
}

/// Collect the layer indexes of `image` from `archive` (call `index_layers` or `verify`
/// first, or every layer is reported missing).
pub fn image_layers<'a>(archive: &'a Archive, image: &Image) -> ImageLayers<'a> {
    let mut out = ImageLayers { indexes: Vec::new(), blobs: Vec::new(), missing: Vec::new() };
    for (k, layer) in image.layers.iter().enumerate() {
        match layer.blob.and_then(|b| archive.layer_index(b)) {
            Some(idx) => out.indexes.push(idx),
            None => {
                out.indexes.push(&EMPTY_LAYER);
                out.missing.push(k);
            }
        }
        out.blobs.push(layer.blob);
    }
    out
}

/// An archive plus its source, handing out entry bytes by image layer number.
///
/// Compressed layers cannot seek. Reading many of their files (an export) would
/// decompress each layer again for every file, so the decoders that served files are kept
/// (several per layer), and the next file of a layer continues from the closest one behind
/// it, unless the layer's nearest access point is closer.
pub struct ArchiveSource<'a> {
    archive: &'a Archive,
    src: SharedSource<'a>,
    /// Blob handle of each image layer (from [`ImageLayers::blobs`]).
    blobs: Vec<Option<usize>>,
    /// Decoders kept between reads, the most recently used last.
    live: Vec<LiveStream<'a>>,
}

/// Decoders kept at once (a gzip one holds ~200 KiB: zlib's state, window and input).
const LIVE_STREAMS: usize = 16;

/// A layer's decompressed stream, positioned where the last read stopped.
struct LiveStream<'a> {
    blob: usize,
    /// Offset in the layer's uncompressed stream of the next byte `reader` yields.
    pos: u64,
    reader: Box<dyn Read + 'a>,
}

impl<'a> ArchiveSource<'a> {
    pub fn new(archive: &'a Archive, src: &'a mut dyn ReadSeek, blobs: Vec<Option<usize>>) -> Self {
        ArchiveSource { archive, src: SharedSource::new(src), blobs, live: Vec::new() }
    }

    /// Continue the kept decoder of `blob` closest before `target`, unless starting at an
    /// access point is closer still. (Several per layer: a tree's order and a layer's tar
    /// order can differ, e.g. `a.txt` and `a/` sort differently, so reads go back and forth.)
    fn take_live(&mut self, blob: usize, target: u64) -> Option<LiveStream<'a>> {
        let (i, _) = self.live.iter().enumerate().filter(|(_, l)| l.blob == blob && l.pos <= target).max_by_key(|(_, l)| l.pos)?;
        let restart_at = self.archive.restart_point(blob, target).unwrap_or(0);
        if restart_at > self.live[i].pos {
            return None;
        }
        Some(self.live.remove(i))
    }
}

fn heavy(archive: &Archive, blob: usize) -> bool {
    let big_window = |c: Compression| matches!(c, Compression::Zstd | Compression::Xz);
    big_window(archive.compression()) || big_window(archive.layer_compression(blob))
}

impl ContentSource for ArchiveSource<'_> {
    fn open_entry(&mut self, layer: usize, entry: &LayerEntry) -> Result<Box<dyn Read + '_>, Error> {
        let blob = self
            .blobs
            .get(layer)
            .copied()
            .flatten()
            .ok_or_else(|| Error::NotFound { what: format!("the bytes of layer {layer} (not in this archive)") })?;
        if self.archive.layer_seeks(blob) {
            return self.archive.read_entry(&mut self.src, blob, entry);
        }
        let target = entry.data_offset;
        let mut live = match self.take_live(blob, target) {
            Some(live) => live,
            None => {
                if heavy(self.archive, blob) {
                    // A zstd or xz decoder holds its whole window (up to 64 MiB for xz -9):
                    // keep one of those at a time, and drop it before making the next.
                    let archive = self.archive;
                    self.live.retain(|l| !heavy(archive, l.blob));
                }
                LiveStream { blob, pos: target, reader: self.archive.layer_stream_at(self.src.clone(), blob, target)? }
            }
        };
        let skip = target - live.pos;
        let skipped = io::copy(&mut (&mut live.reader).take(skip), &mut io::sink())?;
        live.pos += skipped;
        if skipped < skip {
            return Err(Error::Truncated { entry: None, offset: live.pos, detail: "the layer ends before the file's bytes".into() });
        }
        if self.live.len() >= LIVE_STREAMS {
            self.live.remove(0);
        }
        self.live.push(live);
        let live = self.live.last_mut().ok_or_else(|| Error::NotFound { what: "a kept decoder".into() })?;
        Ok(Box::new(LiveTake { live, left: entry.size }))
    }
}

/// Reads `left` bytes of a kept decoder, moving its position along.
struct LiveTake<'s, 'a> {
    live: &'s mut LiveStream<'a>,
    left: u64,
}

impl Read for LiveTake<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.live.reader.read(&mut buf[..want])?;
        self.live.pos += n as u64;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Copy one layer's raw uncompressed tar to `out` (`strata export --layer N`).
pub fn export_layer(archive: &Archive, src: &mut dyn ReadSeek, blob: usize, out: &mut dyn std::io::Write) -> Result<u64, Error> {
    let mut r = archive.open_layer_stream(src, blob)?;
    Ok(std::io::copy(&mut r, out)?)
}
