//! The glue between an opened [`Archive`] and the merge: an image's layer indexes, and
//! the archive as a [`ContentSource`] of file bytes.

use super::read::ContentSource;
use crate::layer::{LayerEntry, LayerIndex};
use crate::report::{Compression, Image};
use crate::io::SharedSource;
use crate::{Archive, Error, ReadSeek};
use std::io::{self, Read, Seek, SeekFrom};

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
pub struct ArchiveSource<'a, 's> {
    archive: &'a Archive,
    src: SharedSource<'s>,
    /// Blob handle of each image layer (from [`ImageLayers::blobs`]).
    blobs: Vec<Option<usize>>,
    kept: KeptDecoders<'s>,
}

/// The decoders an [`ArchiveSource`] keeps between reads. They outlive one source when
/// the caller takes them back ([`ArchiveSource::into_kept`]) and hands them to the next
/// ([`ArchiveSource::with_kept`]), as the browser's Session does between requests, so
/// the next file of a zstd layer is not decompressed from the layer's start again.
#[derive(Default)]
pub struct KeptDecoders<'s> {
    /// The most recently used last.
    live: Vec<LiveStream<'s>>,
    /// The window memory of each blob's decoders, once asked ([`ArchiveSource::window_of`]).
    windows: Vec<(usize, u64)>,
    /// Decoders started, not continued (for tests: how often a layer was decompressed again).
    started: usize,
}

/// Decoders kept at once (a gzip one holds ~200 KiB: zlib's state, window and input).
const LIVE_STREAMS: usize = 16;

/// What the kept zstd and xz decoders may hold in all, by their windows (2–8 MiB for zstd
/// as registries write it, up to 64 MiB for `xz -9`). A merged tree takes its files from
/// every layer in turn: with one such decoder at a time, an export of a six-layer zstd
/// image decompressed its layers again and again (6.6 s, against 1.7 s with one per layer).
/// One decoder is always allowed, whatever its window.
const WINDOW_BUDGET: u64 = 64 << 20;

/// Assumed when a stream's header does not say (the budget: one such decoder at a time).
const UNKNOWN_WINDOW: u64 = WINDOW_BUDGET;

/// A layer's decompressed stream, positioned where the last read stopped.
struct LiveStream<'s> {
    blob: usize,
    /// Offset in the layer's uncompressed stream of the next byte `reader` yields.
    pos: u64,
    reader: Box<dyn Read + 's>,
    /// The window memory its zstd/xz decoders hold (0 for gzip and plain).
    window: u64,
}

impl<'a, 's> ArchiveSource<'a, 's> {
    pub fn new(archive: &'a Archive, src: &'s mut dyn ReadSeek, blobs: Vec<Option<usize>>) -> Self {
        Self::with_kept(archive, SharedSource::new(src), blobs, KeptDecoders::default())
    }

    /// A source that continues with decoders an earlier one kept (over the same archive,
    /// with the same facts: drop them when the archive learns more).
    pub fn with_kept(archive: &'a Archive, src: SharedSource<'s>, blobs: Vec<Option<usize>>, kept: KeptDecoders<'s>) -> Self {
        ArchiveSource { archive, src, blobs, kept }
    }

    /// The decoders this source keeps, for the next one.
    pub fn into_kept(self) -> KeptDecoders<'s> {
        self.kept
    }

    /// How many times a decoder was started from an access point or a layer's start,
    /// rather than a kept one continued.
    pub fn decoders_started(&self) -> usize {
        self.kept.started
    }

    /// Continue the kept decoder of `blob` closest before `target`, unless starting at an
    /// access point is closer still. (Several per layer: a tree's order and a layer's tar
    /// order can differ, e.g. `a.txt` and `a/` sort differently, so reads go back and forth.)
    fn take_live(&mut self, blob: usize, target: u64) -> Option<LiveStream<'s>> {
        let (i, _) = self.kept.live.iter().enumerate().filter(|(_, l)| l.blob == blob && l.pos <= target).max_by_key(|(_, l)| l.pos)?;
        let restart_at = self.archive.restart_point(blob, target).unwrap_or(0);
        if restart_at > self.kept.live[i].pos {
            return None;
        }
        Some(self.kept.live.remove(i))
    }

    /// The window memory a decoder of `blob` holds: its zstd/xz windows, the layer's own
    /// and the whole archive's when that is compressed, as their headers say (0 for plain
    /// and gzip streams: zlib's window is 32 KiB).
    fn window_of(&mut self, blob: usize) -> u64 {
        if let Some(&(_, w)) = self.kept.windows.iter().find(|(b, _)| *b == blob) {
            return w;
        }
        let outer = self.archive.compression();
        let mut window = 0;
        if big_window(outer) {
            window += self.head_window(outer, Some(0));
        }
        let layer = self.archive.layer_compression(blob);
        if let Some(w) = self.archive.layer_decoder_window(blob) {
            // measured over every frame when the layer was verified
            window += w;
        } else if big_window(layer) {
            // (a layer inside a compressed archive: its head is not at a file offset)
            let at = if outer == Compression::None { self.archive.blob_span(blob).map(|(offset, _)| offset) } else { None };
            window += self.head_window(layer, at);
        }
        self.kept.windows.push((blob, window));
        window
    }

    /// The window that the stream at file offset `at` asks for in its header.
    fn head_window(&mut self, compression: Compression, at: Option<u64>) -> u64 {
        let Some(at) = at else { return UNKNOWN_WINDOW };
        let mut head = Vec::with_capacity(64);
        let read = self.src.seek(SeekFrom::Start(at)).and_then(|_| (&mut self.src).take(64).read_to_end(&mut head));
        match read {
            Ok(_) => crate::decompress::window_size(compression, &head).unwrap_or(UNKNOWN_WINDOW),
            Err(_) => UNKNOWN_WINDOW,
        }
    }

    /// Drop the least recently used decoders with windows until `window` more fits the
    /// budget (or none is left).
    fn make_room(&mut self, window: u64) {
        let live = &mut self.kept.live;
        while live.iter().map(|l| l.window).sum::<u64>() + window > WINDOW_BUDGET {
            let Some(i) = live.iter().position(|l| l.window > 0) else { break };
            live.remove(i);
        }
    }
}

fn big_window(c: Compression) -> bool {
    matches!(c, Compression::Zstd | Compression::Xz)
}

impl ContentSource for ArchiveSource<'_, '_> {
    fn open_entry(&mut self, layer: usize, entry: &LayerEntry) -> Result<Box<dyn Read + '_>, Error> {
        self.open_entry_from(layer, entry, 0)
    }

    fn open_entry_from(&mut self, layer: usize, entry: &LayerEntry, from: u64) -> Result<Box<dyn Read + '_>, Error> {
        if let Some(map) = entry.sparse.as_deref() {
            // Its logical bytes, holes as zeros, over a read of its packed fragments.
            return super::read::open_sparse(self, layer, entry, map, from);
        }
        let from = from.min(entry.size);
        let blob = self
            .blobs
            .get(layer)
            .copied()
            .flatten()
            .ok_or_else(|| Error::NotFound { what: format!("the bytes of layer {layer} (not in this archive)") })?;
        if self.archive.layer_seeks(blob) {
            return self.archive.read_entry_from(&mut self.src, blob, entry, from);
        }
        let target = entry.data_offset.saturating_add(from);
        let mut live = match self.take_live(blob, target) {
            Some(live) => live,
            None => {
                // Dropped before the new decoder allocates its window, not after.
                let window = self.window_of(blob);
                if window > 0 {
                    self.make_room(window);
                }
                self.kept.started += 1;
                LiveStream { blob, pos: target, reader: self.archive.layer_stream_at(self.src.clone(), blob, target)?, window }
            }
        };
        let skip = target - live.pos;
        let skipped = io::copy(&mut (&mut live.reader).take(skip), &mut io::sink())?;
        live.pos += skipped;
        if skipped < skip {
            return Err(Error::Truncated { entry: None, offset: live.pos, detail: "the layer ends before the file's bytes".into() });
        }
        let kept = &mut self.kept.live;
        if kept.len() >= LIVE_STREAMS {
            kept.remove(0);
        }
        kept.push(live);
        let live = kept.last_mut().ok_or_else(|| Error::NotFound { what: "a kept decoder".into() })?;
        Ok(Box::new(LiveTake { live, left: entry.size - from }))
    }
}

/// Reads `left` bytes of a kept decoder, moving its position along.
struct LiveTake<'r, 's> {
    live: &'r mut LiveStream<'s>,
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
