// One baseline worker: read [start, end) of a File (synchronously, or with `inflight`
// async reads kept in flight), hash 64 MiB pieces.
self.onmessage = async (event) => {
  const { file, start, end, chunk, piece, hash, small, inflight = 0 } = event.data;
  const reader = new FileReaderSync();
  const t0 = performance.now();
  if (small) {
    // Per-call cost: `small.count` reads of `small.size` bytes spread evenly over the file.
    const stride = Math.floor((file.size - small.size) / small.count);
    let got = 0;
    for (let i = 0; i < small.count; i++) {
      got += reader.readAsArrayBuffer(file.slice(i * stride, i * stride + small.size)).byteLength;
    }
    postMessage({ ms: performance.now() - t0, bytes: got });
    return;
  }
  const buf = hash ? new Uint8Array(piece) : null;
  let fill = 0;
  let bytes = 0;
  const queue = [];
  let ahead = start;
  for (let off = start; off < end; off += chunk) {
    let ab;
    if (inflight) {
      while (queue.length < inflight && ahead < end) {
        queue.push(file.slice(ahead, Math.min(end, ahead + chunk)).arrayBuffer());
        ahead += chunk;
      }
      ab = await queue.shift();
    } else {
      ab = reader.readAsArrayBuffer(file.slice(off, Math.min(end, off + chunk)));
    }
    bytes += ab.byteLength;
    if (hash) {
      buf.set(new Uint8Array(ab), fill);
      fill += ab.byteLength;
      if (fill + chunk > piece || off + chunk >= end) {
        await crypto.subtle.digest('SHA-256', buf.subarray(0, fill));
        fill = 0;
      }
    }
  }
  postMessage({ ms: performance.now() - t0, bytes });
};
