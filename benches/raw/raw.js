// Baseline: read the picked File in workers (Blob.slice + FileReaderSync, 8 MiB chunks),
// optionally SHA-256 it with crypto.subtle.digest in 64 MiB pieces. `workers` split the
// file into equal contiguous parts. Returns wall milliseconds from spawning the workers
// to the last one finishing.
window.rawBench = async ({ workers = 1, hash = false, chunk = 8 << 20, piece = 64 << 20, small = null, inflight = 0 } = {}) => {
  const file = document.getElementById('file-input').files[0];
  if (!file) throw new Error('no file picked');
  const started = performance.now();
  const part = Math.ceil(file.size / workers / chunk) * chunk;
  const jobs = [];
  for (let i = 0; i < workers; i++) {
    const start = Math.min(file.size, i * part);
    const end = Math.min(file.size, start + part);
    const worker = new Worker(new URL('./raw-worker.js', import.meta.url));
    jobs.push(new Promise((resolve, reject) => {
      worker.onmessage = (e) => { worker.terminate(); resolve(e.data); };
      worker.onerror = (e) => { worker.terminate(); reject(new Error(e.message)); };
      worker.postMessage({ file, start, end, chunk, piece, hash, small, inflight });
    }));
  }
  const results = await Promise.all(jobs);
  const ms = performance.now() - started;
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  if (!small && bytes !== file.size) throw new Error(`read ${bytes} of ${file.size} bytes`);
  return { ms, bytes, perWorker: results.map((r) => r.ms) };
};
