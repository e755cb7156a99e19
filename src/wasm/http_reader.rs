//! A synchronous `Read + Seek` over an archive on a web server, by HTTP Range requests:
//! synchronous `XMLHttpRequest` (refused in a window, allowed in workers, with
//! `responseType = 'arraybuffer'`), one plain `Range: bytes=a-b` header and nothing else.
//! That header is CORS-safelisted, so no preflight: `If-Range` or a custom header would
//! force one, which many static servers refuse.
//!
//! The page probes the server first (`www/js/remote.js`: one async range request it can
//! cancel, so a server that ignores Range costs no whole download here) and hands this
//! reader the file's size and ETag. Every answer is then checked against them: the total
//! size in `Content-Range` (and the ETag, where the server exposes it) — a file replaced
//! under the reads is an error, never a mix of two files.

use super::chunk_cache::{ChunkCache, ChunkPolicy, FetchRange};
use super::to_js;
use crate::Error;
use js_sys::Uint8Array;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use std::io::{self, Read, Seek, SeekFrom};
use wasm_bindgen::prelude::*;
use web_sys::{XmlHttpRequest, XmlHttpRequestResponseType};

/// Largest single request while streaming. Over loopback a request costs ~1–2 ms of its
/// own; over the internet tens of ms: multi-MiB reads keep that small next to the bytes.
pub const HTTP_MAX_CHUNK: usize = 8 << 20;
/// First request after a jump (tar headers, metadata): small, so hopping from header to
/// header over big files fetches little; the next request doubles while reads stay
/// (nearly) sequential.
pub const HTTP_MIN_CHUNK: usize = 64 << 10;
/// A miss at most this far past the cached chunk counts as sequential (cheaper to fetch
/// through than to pay another request).
pub const HTTP_NEAR_GAP: u64 = 256 << 10;
/// Attempts per request when the network fails or the server answers 5xx.
const ATTEMPTS: u32 = 3;

/// What went wrong with the last failed request, for the page's words (see `http_stats`).
#[derive(Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HttpFailure {
    /// The request did not complete: the network, or CORS refused (the page tells them apart).
    Network,
    /// The server answered this status.
    Status { status: u16 },
    /// The file on the server is not the one opened: another total size or ETag, or a
    /// server that stopped honouring Range.
    Changed { detail: String },
}

#[derive(Clone, Default, Serialize)]
struct Stats {
    /// Bytes received in range answers, in this worker.
    fetched: u64,
    /// Requests sent (retries included).
    requests: u64,
    /// Reads that failed (after their retries); `failure` says how the last one did.
    failures: u64,
    failure: Option<HttpFailure>,
}

thread_local! {
    static STATS: RefCell<Stats> = RefCell::new(Stats::default());
}

/// What this worker's HTTP readers did: `{fetched, requests, failures, failure: null |
/// {kind, ...}}`. The benchmark reads `fetched`; the worker words an error by `failure`
/// when `failures` went up during the request that failed.
#[wasm_bindgen]
pub fn http_stats() -> Result<JsValue, JsValue> {
    to_js(&STATS.with(|s| s.borrow().clone()))
}

/// A file on a web server as a synchronous `Read + Seek`, for use in a worker: the shared
/// chunk cache ([`ChunkCache`]: one cached chunk, 64 KiB after a jump, doubling to
/// [`HTTP_MAX_CHUNK`] while reads stream) over synchronous range requests.
pub type HttpReader = ChunkCache<HttpFile>;

/// The chunk policy of a file on a web server.
pub const HTTP_POLICY: ChunkPolicy = ChunkPolicy { min_chunk: HTTP_MIN_CHUNK, max_chunk: HTTP_MAX_CHUNK, near_gap: HTTP_NEAR_GAP };

/// A file on a web server as a source of byte ranges: one checked range request each.
pub struct HttpFile {
    url: String,
    size: u64,
    /// The ETag the probe saw (when the server exposes it): every answer must carry it.
    etag: Option<String>,
    /// Sent with every request besides the Range: a registry's `Authorization` (which
    /// forces a preflight, answered by a registry configured for CORS). None for a plain
    /// web server.
    headers: Vec<(String, String)>,
    /// A registry's token and where to renew it, shared by the readers of one image's
    /// parts (an open can outlive a token: 5 minutes on Docker Hub).
    token: Option<SharedToken>,
}

/// A registry's bearer token and its endpoint (`realm?service&scope`, anonymous: no
/// credentials), shared by every HTTP reader of one image: an expired token is renewed
/// once, not once per layer.
pub struct RegistryToken {
    endpoint: String,
    /// `Bearer …`: replaces the `Authorization` of a reader's own headers once renewed.
    authorization: Option<String>,
    /// Tokens fetched by this reader set (tests, the benchmark).
    pub renewals: u32,
}

pub type SharedToken = Rc<RefCell<RegistryToken>>;

impl RegistryToken {
    pub fn shared(endpoint: String) -> SharedToken {
        Rc::new(RefCell::new(RegistryToken { endpoint, authorization: None, renewals: 0 }))
    }

    /// A new token after a 401 to a request sent with `sent`, unless another reader renewed
    /// it since (then that one serves). False when no token could be had.
    fn renew(&mut self, sent: Option<&str>) -> bool {
        if self.authorization.is_some() && self.authorization.as_deref() != sent {
            return true;
        }
        let Some(token) = fetch_token(&self.endpoint) else { return false };
        self.authorization = Some(format!("Bearer {token}"));
        self.renewals += 1;
        true
    }
}

/// `{token}` or `{access_token}` from a token endpoint, by one synchronous GET.
fn fetch_token(endpoint: &str) -> Option<String> {
    STATS.with(|s| s.borrow_mut().requests += 1);
    let xhr = XmlHttpRequest::new().ok()?;
    xhr.open_with_async("GET", endpoint, false).ok()?;
    xhr.send().ok()?;
    if xhr.status().ok()? != 200 {
        return None;
    }
    let json = js_sys::JSON::parse(&xhr.response_text().ok()??).ok()?;
    let field = |name: &str| js_sys::Reflect::get(&json, &JsValue::from_str(name)).ok()?.as_string().filter(|t| !t.is_empty());
    field("token").or_else(|| field("access_token"))
}

impl ChunkCache<HttpFile> {
    pub fn new(url: String, size: u64, etag: Option<String>) -> HttpReader {
        ChunkCache::over(HttpFile { url, size, etag, headers: Vec::new(), token: None }, size, HTTP_POLICY)
    }

    /// The same reader sending `headers` with every request.
    pub fn with_headers(mut self, headers: Vec<(String, String)>) -> HttpReader {
        self.source.headers = headers;
        self
    }

    /// The same reader renewing the shared `token` on a 401 (and retrying the read once).
    pub fn with_token(mut self, token: SharedToken) -> HttpReader {
        self.source.token = Some(token);
        self
    }

    /// From the page's description of the source: `{url, size, etag}`, and `head`: the
    /// file's first bytes when the page's probe fetched them already (a `Uint8Array`,
    /// cached here so the first read costs no request; see `www/js/remote_source.js`).
    pub fn from_js(source: &JsValue) -> Result<HttpReader, Error> {
        let get = |name: &str| js_sys::Reflect::get(source, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED);
        let bad = |what: &str| Error::Io { offset: None, source: io::Error::other(format!("not an archive source: {what}")) };
        let url = get("url").as_string().ok_or_else(|| bad("no url"))?;
        let size = get("size").as_f64().ok_or_else(|| bad("no size"))?;
        if !(size >= 0.0 && size.fract() == 0.0 && size < 9.0e15) {
            return Err(bad("unusable size"));
        }
        let reader = HttpReader::new(url, size as u64, get("etag").as_string().filter(|e| !e.is_empty()));
        Ok(match get("head").dyn_into::<Uint8Array>() {
            Ok(head) if head.length() > 0 => reader.with_cached(0, head.to_vec()),
            _ => reader,
        })
    }
}

impl FetchRange for HttpFile {
    /// Bytes `[start, start + len)` into `out` (fewer only at the end of the file),
    /// retrying a failed request a few times.
    fn fetch(&mut self, start: u64, len: usize, out: &mut Vec<u8>) -> io::Result<()> {
        let end = start.saturating_add(len as u64).min(self.size);
        out.clear();
        if end <= start {
            return Ok(());
        }
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            attempt += 1;
            let authorization = self.authorization();
            match self.request(start, end, out, authorization.as_deref()) {
                Ok(()) => return Ok(()),
                Err(failure) => {
                    // An expired token: a new one (shared), then this read once more; a
                    // second 401 is the error.
                    if matches!(failure, HttpFailure::Status { status: 401 }) && !renewed {
                        if let Some(token) = &self.token {
                            renewed = true;
                            if token.borrow_mut().renew(authorization.as_deref()) {
                                attempt -= 1;
                                continue;
                            }
                        }
                    }
                    let retry = matches!(failure, HttpFailure::Network | HttpFailure::Status { status: 500..=599 });
                    if retry && attempt < ATTEMPTS {
                        continue;
                    }
                    let text = match &failure {
                        HttpFailure::Network => format!("the request for bytes {start}–{} of {} failed (network, or CORS refused)", end - 1, self.url),
                        HttpFailure::Status { status } => format!("the server answered {status} for bytes {start}–{} of {}", end - 1, self.url),
                        HttpFailure::Changed { detail } => format!("the file on the server changed while it was read: {detail}"),
                    };
                    STATS.with(|s| {
                        let mut s = s.borrow_mut();
                        s.failures += 1;
                        s.failure = Some(failure);
                    });
                    return Err(io::Error::other(text));
                }
            }
        }
    }
}

impl HttpFile {
    /// The `Authorization` to send: the shared token once renewed, else the reader's own.
    fn authorization(&self) -> Option<String> {
        let renewed = self.token.as_ref().and_then(|t| t.borrow().authorization.clone());
        renewed.or_else(|| self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("authorization")).map(|(_, v)| v.clone()))
    }

    /// One range request for `[start, end)`, with `authorization` for the reader's own.
    fn request(&self, start: u64, end: u64, out: &mut Vec<u8>, authorization: Option<&str>) -> Result<(), HttpFailure> {
        STATS.with(|s| s.borrow_mut().requests += 1);
        let xhr = XmlHttpRequest::new().map_err(|_| HttpFailure::Network)?;
        xhr.open_with_async("GET", &self.url, false).map_err(|_| HttpFailure::Network)?;
        xhr.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
        // The one header: `bytes=a-b` is CORS-safelisted (no preflight).
        xhr.set_request_header("Range", &format!("bytes={start}-{}", end - 1)).map_err(|_| HttpFailure::Network)?;
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("authorization") {
                xhr.set_request_header(name, value).map_err(|_| HttpFailure::Network)?;
            }
        }
        if let Some(value) = authorization {
            xhr.set_request_header("Authorization", value).map_err(|_| HttpFailure::Network)?;
        }
        // A sync request throws NetworkError when it fails (refused by CORS included).
        xhr.send().map_err(|_| HttpFailure::Network)?;
        let status = xhr.status().map_err(|_| HttpFailure::Network)?;
        if status == 0 {
            return Err(HttpFailure::Network);
        }
        if status == 200 {
            return Err(HttpFailure::Changed { detail: "the server stopped answering range requests".into() });
        }
        let header = |name: &str| xhr.get_response_header(name).ok().flatten();
        if status == 416 {
            // "Range not satisfiable" for a range inside the size the probe saw: the file
            // is shorter now.
            let now = header("Content-Range").and_then(|r| r.rsplit('/').next().map(str::to_owned)).unwrap_or_else(|| "shorter".into());
            return Err(HttpFailure::Changed { detail: format!("it is {now} bytes now, it was {} bytes", self.size) });
        }
        if status != 206 {
            return Err(HttpFailure::Status { status });
        }
        if let Some(range) = header("Content-Range") {
            match parse_content_range(&range) {
                Some((a, b, total)) => {
                    if total != Some(self.size) {
                        return Err(HttpFailure::Changed {
                            detail: format!("it is {} bytes now, it was {} bytes", total.map_or("of unknown size".into(), |t| t.to_string()), self.size),
                        });
                    }
                    if a != start || b + 1 != end {
                        return Err(HttpFailure::Changed { detail: format!("asked for bytes {start}–{}, got {a}–{b}", end - 1) });
                    }
                }
                None => return Err(HttpFailure::Changed { detail: format!("unreadable Content-Range {range:?}") }),
            }
        }
        if let (Some(want), Some(got)) = (&self.etag, header("ETag")) {
            if *want != got {
                return Err(HttpFailure::Changed { detail: format!("its ETag is {got}, it was {want}") });
            }
        }
        let body = xhr.response().map_err(|_| HttpFailure::Network)?;
        let array = Uint8Array::new(&body);
        let n = array.length() as usize;
        if n as u64 != end - start {
            return Err(HttpFailure::Changed { detail: format!("got {n} bytes at byte {start} where {} were expected", end - start) });
        }
        out.resize(n, 0);
        array.copy_to(&mut out[..]);
        STATS.with(|s| s.borrow_mut().fetched += n as u64);
        Ok(())
    }
}

/// `bytes a-b/total` (total `*` when unknown) → (a, b, total).
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (a, b) = range.trim().split_once('-')?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    (a <= b).then_some((a, b, total))
}

/// The archive the page opened: a dropped `File` (any `Blob`), a file on a web server
/// described as `{url, size, etag}`, or an archive made of parts `{parts, size}` (a
/// registry image as a virtual OCI layout tar: `parts_reader.rs`).
pub enum Source {
    Blob(super::BlobReader),
    Http(HttpReader),
    Parts(super::PartsReader),
}

impl Source {
    /// `max_chunk` caps a Blob's single reads (the index walks read with their own cap).
    pub fn from_js(source: &JsValue, max_chunk: usize) -> Result<Source, Error> {
        if let Some(blob) = source.dyn_ref::<web_sys::Blob>() {
            return Ok(Source::Blob(super::BlobReader::with_max_chunk(blob.clone(), max_chunk)?));
        }
        if super::PartsReader::describes(source) {
            return Ok(Source::Parts(super::PartsReader::from_js(source, max_chunk)?));
        }
        Ok(Source::Http(HttpReader::from_js(source)?))
    }
}

impl Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Blob(r) => r.read(buf),
            Source::Http(r) => r.read(buf),
            Source::Parts(r) => r.read(buf),
        }
    }
}

impl Seek for Source {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Source::Blob(r) => r.seek(pos),
            Source::Http(r) => r.seek(pos),
            Source::Parts(r) => r.seek(pos),
        }
    }
}
