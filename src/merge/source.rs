//! The glue between an opened [`Archive`] and the merge: an image's layer indexes, and
//! the archive as a [`ContentSource`] of file bytes.

use super::read::ContentSource;
use crate::layer::{LayerEntry, LayerIndex};
use crate::report::Image;
use crate::{Archive, Error, ReadSeek};
use std::io::Read;

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
pub struct ArchiveSource<'a> {
    pub archive: &'a Archive,
    pub src: &'a mut dyn ReadSeek,
    /// Blob handle of each image layer (from [`ImageLayers::blobs`]).
    pub blobs: Vec<Option<usize>>,
}

impl ContentSource for ArchiveSource<'_> {
    fn open_entry(&mut self, layer: usize, entry: &LayerEntry) -> Result<Box<dyn Read + '_>, Error> {
        let blob = self
            .blobs
            .get(layer)
            .copied()
            .flatten()
            .ok_or_else(|| Error::NotFound { what: format!("the blob of layer {layer}") })?;
        self.archive.read_entry(&mut *self.src, blob, entry)
    }
}

/// Copy one layer's raw uncompressed tar to `out` (`strata export --layer N`).
pub fn export_layer(archive: &Archive, src: &mut dyn ReadSeek, blob: usize, out: &mut dyn std::io::Write) -> Result<u64, Error> {
    let mut r = archive.open_layer_stream(src, blob)?;
    Ok(std::io::copy(&mut r, out)?)
}
