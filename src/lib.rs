//! strata: read `docker save` and OCI image archives, verify every digest, and rebuild
//! the merged filesystem — one core for the `strata` CLI and the in-browser inspector.
//!
//! The pipeline, one module per step:
//! [`detect`] → [`scan`] (index the outer tar) → [`resolve`] (manifest.json, index.json,
//! repositories) → [`verify`] (hash blobs, index layers) → [`merge`] (union filesystem)
//! → [`report`]. [`archive::Archive`] runs the steps; the shells call it.

pub mod archive;
pub mod chunk_index;
pub mod codec;
pub mod codes;
pub mod decompress;
pub mod detect;
pub mod error;
#[cfg(not(target_arch = "wasm32"))]
pub mod fixture;
pub mod gzip;
pub mod io;
pub mod layer;
pub mod merge;
pub mod packages;
pub mod pax;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod sparse;
pub mod tar_guard;
pub mod verify;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use archive::{Archive, Phase, Progress};
pub use codes::{Code, Message};
pub use error::Error;
pub use io::ReadSeek;
pub use report::Report;
