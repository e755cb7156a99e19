//! Verification on every core: the blobs of a plain (uncompressed) archive are independent
//! spans of one file, so threads with their own handles on it hash and index them at once,
//! the biggest first; the core's `analyze_blob` / `set_blob_facts` pair is the same one the
//! page's helper workers use. One blob's SHA-256 cannot be split, so the floor is hashing
//! the largest blob alone. A compressed archive is one stream: it stays one pass.
//!
//! `STRATA_THREADS=N` sets the number of threads (default: the cores the process may use;
//! 1 is the serial path, which the tests compare against).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use strata::report::Compression;
use strata::{Archive, Phase, Progress};

/// Each thread's read buffer: reads of this size keep the disk and the page cache busy,
/// and the memory stays fixed (threads × this), whatever the archive.
const READ_BUFFER: usize = 1 << 20;

pub fn threads() -> usize {
    match std::env::var("STRATA_THREADS").ok().and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n >= 1 => n,
        _ => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    }
}

/// Hash and index every pending blob of `archive` (opened from `path`) on `threads`
/// threads; whatever is left (and the report) the caller's `verify` finishes.
pub fn verify_blobs(archive: &mut Archive, path: &Path, threads: usize, progress: &mut dyn FnMut(&Progress)) -> Result<(), String> {
    if threads < 2 || archive.compression() != Compression::None {
        return Ok(());
    }
    let mut work: Vec<(usize, u64, u64)> =
        archive.pending_blobs().into_iter().filter_map(|b| archive.blob_span(b).map(|(offset, size)| (b, offset, size))).collect();
    if work.len() < 2 {
        return Ok(());
    }
    // Biggest first: the longest job starts at once and the small ones fill in around it.
    work.sort_by(|a, b| b.2.cmp(&a.2));
    let total: u64 = work.iter().map(|w| w.2).sum();
    let items = work.len();
    let queue = Arc::new(Mutex::new(work.into_iter()));
    let done_bytes = Arc::new(AtomicU64::new(0));
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::new();
    for _ in 0..threads.min(items) {
        let (queue, done_bytes, tx) = (Arc::clone(&queue), Arc::clone(&done_bytes), tx.clone());
        let path = path.to_path_buf();
        handles.push(std::thread::spawn(move || -> Result<(), String> {
            let mut file = File::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            loop {
                let next = queue.lock().map_err(|_| "a verifying thread failed".to_string())?.next();
                let Some((blob, offset, size)) = next else { return Ok(()) };
                file.seek(SeekFrom::Start(offset)).map_err(|e| format!("{}: cannot read at byte {offset}: {e}", path.display()))?;
                let span = Counted { inner: (&mut file).take(size), done: &done_bytes };
                let facts = Archive::analyze_blob(&mut BufReader::with_capacity(READ_BUFFER, span));
                if tx.send((blob, facts)).is_err() {
                    return Ok(());
                }
            }
        }));
    }
    drop(tx);
    let mut item = 0;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok((blob, facts)) => {
                archive.set_blob_facts(blob, facts);
                item += 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        progress(&Progress { phase: Phase::Verifying, done: done_bytes.load(Ordering::Relaxed), total, item, items });
    }
    for h in handles {
        h.join().map_err(|_| "a verifying thread panicked".to_string())??;
    }
    Ok(())
}

/// Counts the bytes read, for the progress bar.
struct Counted<'a, R> {
    inner: R,
    done: &'a AtomicU64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
