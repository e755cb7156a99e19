//! The browser shell: the core behind a small wasm-bindgen API, run in a module Web
//! Worker over the dropped `File`.
//!
//! [`BlobReader`] turns a `Blob` into a synchronous `Read + Seek` (`Blob.slice` +
//! `FileReaderSync`, which only exists in workers), so tar, flate2 and ruzstd run
//! unchanged and nothing is copied into wasm memory but the chunk being read.
//! [`Session`] is one opened archive: its report, merged trees built on demand, and
//! file reading, diff and export. Every error becomes a JS `Error` with a plain
//! message; nothing here panics on input.
//!
//! One file per part: `chunk_cache` (the one chunk cache and read-size policy of the two
//! readers below), `blob_reader` (a `Blob` as `Read + Seek`), `http_reader` (a file on a
//! web server), `parts_reader` (an archive made of parts: a registry image), `session` (one opened
//! archive: its report, trees, files, diff, export), `helpers` (the entry points of the
//! helper workers that index or verify single blobs in parallel). This file holds what they
//! share: errors and values for JS, progress callbacks.

mod blob_reader;
mod chunk_cache;
mod helpers;
mod http_reader;
mod parts_reader;
mod session;

pub use blob_reader::*;
pub use chunk_cache::*;
pub use helpers::*;
pub use http_reader::*;
pub use parts_reader::*;
pub use session::*;

use crate::codes::{Code, Message};
use crate::{Error, Progress};
use js_sys::Function;
use serde::Serialize;
use std::io;
use wasm_bindgen::prelude::*;

/// Runs when the module is instantiated. Nothing here should panic on input; if something
/// does (a bug), the wasm instance traps, the request fails with "unreachable", and without
/// this the reason would be lost. The panic's message and place go to the console, where a
/// bug report (and the page tests, which fail on any console error) can see them.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&JsValue::from_str(&format!("strata core panicked: {info}")))));
}

pub(crate) fn js_message(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        return String::from(err.message());
    }
    e.as_string().unwrap_or_else(|| format!("{e:?}"))
}

/// An error for JS: an `Error` whose `message` is the English text, with the core's code
/// and parameters as `error.code` and `error.params` (JSON-compatible), which the worker
/// passes to the page for its catalogs (`code.<code>` in `www/locales/<lang>/core.json`).
pub(crate) fn js_err(e: impl IntoMessage) -> JsValue {
    let message = e.into_message();
    let error = js_sys::Error::new(&message.english());
    let params = message.params.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL);
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(message.code.as_str()));
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("params"), &params);
    error.into()
}

/// What `js_err` takes: the core's errors as they are, and any other failure (a bad
/// argument, a JSON error) as `request_refused` with its text.
pub(crate) trait IntoMessage {
    fn into_message(self) -> Message;
}

impl IntoMessage for Error {
    fn into_message(self) -> Message {
        self.message()
    }
}

impl IntoMessage for io::Error {
    fn into_message(self) -> Message {
        Error::from(self).message()
    }
}

impl IntoMessage for String {
    fn into_message(self) -> Message {
        Message::new(Code::RequestRefused).with("detail", self)
    }
}

impl IntoMessage for &str {
    fn into_message(self) -> Message {
        Message::new(Code::RequestRefused).with("detail", self)
    }
}

impl IntoMessage for serde_json::Error {
    fn into_message(self) -> Message {
        Message::new(Code::RequestRefused).with("detail", self.to_string())
    }
}

/// Every code the core can produce, for the page's catalog test: `[{code, params,
/// english}]`, `params` the names the English template uses, `english` the template.
#[wasm_bindgen]
pub fn codes() -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    struct Listed {
        code: &'static str,
        params: Vec<&'static str>,
        english: &'static str,
    }
    let list: Vec<Listed> =
        Code::ALL.iter().map(|c| Listed { code: c.as_str(), params: c.param_names(), english: c.template() }).collect();
    to_js(&list)
}

pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    // json_compatible: maps become plain objects, u64 plain numbers.
    match value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()) {
        Ok(v) => Ok(v),
        // A number past 2^53 (a hostile tar's mtime or uid) is refused there; through JSON
        // text it becomes the nearest double instead of failing the whole listing.
        Err(_) => {
            let text = serde_json::to_string(value).map_err(js_err)?;
            js_sys::JSON::parse(&text).map_err(|e| js_err(js_message(&e)))
        }
    }
}

pub(crate) fn progress_fn(callback: &Function) -> impl FnMut(&Progress) + '_ {
    move |p: &Progress| {
        if let Ok(value) = to_js(p) {
            // A throwing callback must not stop the work: its error is dropped.
            let _ = callback.call1(&JsValue::NULL, &value);
        }
    }
}

