//! A synchronous `Read + Seek` over an archive made of parts, for use in a worker: a
//! registry image as a virtual OCI layout tar (`www/js/registry.js` composes it). Each part
//! is inline bytes (tar headers, padding, the small documents), a blob URL read by HTTP
//! Range (`HttpReader`, with the registry's token as an extra header when it gave one), or
//! a `Blob` (a layer streamed once from a registry that ignores Range: `BlobReader`).
//!
//! Memory: at most ONE part's read-ahead cache is alive at a time. When the reads move to
//! another part, the previous part's reader (and its multi-MiB cache) is dropped: an image
//! of 50 layers never holds 50 caches.

use super::{BlobReader, HttpReader, RegistryToken, SharedToken};
use crate::Error;
use js_sys::{Array, Object, Reflect, Uint8Array};
use std::io::{self, Read, Seek, SeekFrom};
use wasm_bindgen::prelude::*;

/// One part of the archive, as the page described it.
enum Part {
    /// `{bytes: Uint8Array}`: held here (small: headers and documents of bounded size).
    Bytes(Vec<u8>),
    /// `{url, size, headers?}`: a blob URL, read by range.
    Url { url: String, size: u64, headers: Vec<(String, String)> },
    /// `{blob: Blob}`.
    Blob(web_sys::Blob),
}

impl Part {
    fn len(&self) -> u64 {
        match self {
            Part::Bytes(b) => b.len() as u64,
            Part::Url { size, .. } => *size,
            Part::Blob(blob) => blob.size() as u64,
        }
    }
}

/// The reader of the part being read (the only one alive).
enum Current {
    Http(HttpReader),
    Blob(BlobReader),
}

pub struct PartsReader {
    parts: Vec<Part>,
    /// Where each part starts in the archive (ascending; an empty part shares its start
    /// with the next one).
    starts: Vec<u64>,
    size: u64,
    pos: u64,
    /// Largest single read of a Blob part (as `Source::from_js` asks).
    max_chunk: usize,
    current: Option<(usize, Current)>,
    /// The registry's token endpoint (`token: {url, …}` of the description): one token
    /// shared by the readers of every url part, renewed once when it expires.
    token: Option<SharedToken>,
}

fn bad(what: &str) -> Error {
    Error::Io { offset: None, source: io::Error::other(format!("not an archive source: {what}")) }
}

fn whole_number(value: &JsValue) -> Option<u64> {
    let n = value.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n < 9.0e15).then_some(n as u64)
}

/// `{name: value, …}` → pairs (strings only; anything else is left out).
fn header_pairs(value: &JsValue) -> Vec<(String, String)> {
    if !value.is_object() {
        return Vec::new();
    }
    Object::entries(value.unchecked_ref())
        .iter()
        .filter_map(|pair| {
            let pair: Array = pair.unchecked_into();
            Some((pair.get(0).as_string()?, pair.get(1).as_string()?))
        })
        .collect()
}

impl PartsReader {
    /// Whether `source` is a parts description (`{parts: [...]}`).
    pub fn describes(source: &JsValue) -> bool {
        source.is_object() && Reflect::get(source, &JsValue::from_str("parts")).map(|p| Array::is_array(&p)).unwrap_or(false)
    }

    /// From `{parts: [{bytes} | {url, size, headers?} | {blob}], size}`; `size`, when
    /// given, must be the parts' total.
    pub fn from_js(source: &JsValue, max_chunk: usize) -> Result<PartsReader, Error> {
        let get = |object: &JsValue, name: &str| Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
        let list: Array = get(source, "parts").dyn_into().map_err(|_| bad("parts is not a list"))?;
        let mut parts = Vec::with_capacity(list.length() as usize);
        for item in list.iter() {
            let bytes = get(&item, "bytes");
            let blob = get(&item, "blob");
            let part = if let Some(array) = bytes.dyn_ref::<Uint8Array>() {
                Part::Bytes(array.to_vec())
            } else if let Some(blob) = blob.dyn_ref::<web_sys::Blob>() {
                Part::Blob(blob.clone())
            } else {
                let url = get(&item, "url").as_string().ok_or_else(|| bad("a part is neither bytes, a url nor a blob"))?;
                let size = whole_number(&get(&item, "size")).ok_or_else(|| bad("a url part has no usable size"))?;
                Part::Url { url, size, headers: header_pairs(&get(&item, "headers")) }
            };
            parts.push(part);
        }
        let mut starts = Vec::with_capacity(parts.len());
        let mut size = 0u64;
        for part in &parts {
            starts.push(size);
            size = size.checked_add(part.len()).ok_or_else(|| bad("the parts add up past any size"))?;
        }
        let stated = get(source, "size");
        if !stated.is_undefined() && whole_number(&stated) != Some(size) {
            return Err(bad(&format!("its parts make {size} bytes, not the size it states")));
        }
        let token = get(&get(source, "token"), "url").as_string().filter(|u| !u.is_empty()).map(RegistryToken::shared);
        Ok(PartsReader { parts, starts, size, pos: 0, max_chunk, current: None, token })
    }

    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Tokens this reader fetched because one expired (tests).
    pub fn token_renewals(&self) -> u32 {
        self.token.as_ref().map_or(0, |t| t.borrow().renewals)
    }

    /// The part whose reader (and read-ahead cache) is alive, if any: at most one (tests).
    pub fn reading_part(&self) -> Option<usize> {
        self.current.as_ref().map(|(i, _)| *i)
    }

    /// The part holding byte `pos` (< size): the last part starting at or before it (an
    /// empty part starts where the next one does, so it is never the last such part).
    fn part_at(&self, pos: u64) -> usize {
        self.starts.partition_point(|&start| start <= pos) - 1
    }

    /// The reader of part `index`, made now if the reads were elsewhere: the previous
    /// part's reader and its cache are dropped first.
    fn reader(&mut self, index: usize) -> Result<&mut Current, io::Error> {
        if self.current.as_ref().map(|(i, _)| *i) != Some(index) {
            self.current = None;
            let reader = match &self.parts[index] {
                Part::Url { url, size, headers } => {
                    let reader = HttpReader::new(url.clone(), *size, None).with_headers(headers.clone());
                    Current::Http(match &self.token {
                        Some(token) => reader.with_token(token.clone()),
                        None => reader,
                    })
                }
                Part::Blob(blob) => Current::Blob(
                    BlobReader::with_max_chunk(blob.clone(), self.max_chunk).map_err(|e| io::Error::other(e.to_string()))?,
                ),
                Part::Bytes(_) => unreachable!("inline parts are read in place"),
            };
            self.current = Some((index, reader));
        }
        Ok(&mut self.current.as_mut().expect("set above").1)
    }
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        let index = self.part_at(self.pos);
        let within = self.pos - self.starts[index];
        let left = self.parts[index].len() - within;
        let want = buf.len().min(left.min(usize::MAX as u64) as usize);
        let n = match &self.parts[index] {
            Part::Bytes(bytes) => {
                let at = within as usize;
                buf[..want].copy_from_slice(&bytes[at..at + want]);
                want
            }
            _ => match self.reader(index)? {
                Current::Http(r) => {
                    r.seek(SeekFrom::Start(within))?;
                    r.read(&mut buf[..want])?
                }
                Current::Blob(r) => {
                    r.seek(SeekFrom::Start(within))?;
                    r.read(&mut buf[..want])?
                }
            },
        };
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("part {index} ended before its stated size")));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PartsReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.pos = crate::io::seek_target(pos, self.pos, self.size)?;
        Ok(self.pos)
    }
}
