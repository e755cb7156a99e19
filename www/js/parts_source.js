// An archive made of parts (js/registry.js: a registry image as a virtual OCI layout tar)
// as the helpers' readers use a Blob: `size`, and `slice(a, b)` with `arrayBuffer()` and
// `stream()`. A part is inline bytes `{bytes}`, a blob URL read by range `{url, size,
// headers?}` (a RemoteFile), or a Blob `{blob}` (a layer streamed once from a registry that
// ignores Range). The browsing worker's synchronous reads of the same description are the
// core's own: src/wasm/parts_reader.rs.

import { RemoteFile, registryAuth } from './remote_source.js';

const partSize = (part) => (part.bytes ? part.bytes.byteLength : part.blob ? part.blob.size : part.size);

export class PartsFile {
  /** `source`: {parts, size, ref}. */
  constructor(source) {
    this.parts = source.parts;
    this.starts = [];
    let at = 0;
    for (const part of this.parts) {
      this.starts.push(at);
      at += partSize(part);
    }
    this.size = at;
    this.ref = source.ref;
    this.remote = true; // (readahead.js: no BYOB readers over these streams)
    this.remotes = new Map(); // part index → RemoteFile
    // The registry's token, one for all the url parts: renewed once when it expires.
    const authorization = this.parts.find((p) => p.headers?.Authorization)?.headers.Authorization;
    this.auth = source.token ? registryAuth(source.token, authorization) : null;
  }

  /** The Blob-like reader of part `i` (a RemoteFile for a url part). */
  reader(i) {
    const part = this.parts[i];
    if (part.bytes) return new Blob([part.bytes]);
    if (part.blob) return part.blob;
    let file = this.remotes.get(i);
    if (!file) {
      file = new RemoteFile({ url: part.url, size: part.size, headers: part.headers, auth: this.auth });
      this.remotes.set(i, file);
    }
    return file;
  }

  /** The pieces of [from, to): [{reader, start, end}] in part coordinates. */
  pieces(from, to) {
    const out = [];
    // The last part starting at or before `from` (binary search).
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= from) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < this.parts.length && this.starts[i] < to; i++) {
      const start = this.starts[i];
      const end = start + partSize(this.parts[i]);
      const a = Math.max(from, start);
      const b = Math.min(to, end);
      if (b > a) out.push({ i, start: a - start, end: b - start });
    }
    return out;
  }

  slice(start, end) {
    const from = Math.max(0, Math.min(start, this.size));
    const to = Math.max(from, Math.min(end ?? this.size, this.size));
    const pieces = this.pieces(from, to);
    const file = this;
    const sliceOf = (p) => file.reader(p.i).slice(p.start, p.end);
    return {
      size: to - from,
      async arrayBuffer() {
        if (pieces.length === 1) return sliceOf(pieces[0]).arrayBuffer();
        const out = new Uint8Array(to - from);
        let at = 0;
        for (const p of pieces) {
          const buffer = await sliceOf(p).arrayBuffer();
          out.set(new Uint8Array(buffer), at);
          at += buffer.byteLength;
        }
        return out.buffer;
      },
      // The parts' own streams one after the other (each opened when the one before ends,
      // so a cancelled stream fetched nothing of the parts it never reached).
      stream() {
        if (pieces.length === 1) return sliceOf(pieces[0]).stream();
        let index = 0;
        let reader = null;
        return new ReadableStream({
          async pull(controller) {
            for (;;) {
              if (!reader) {
                if (index >= pieces.length) {
                  controller.close();
                  return;
                }
                reader = sliceOf(pieces[index++]).stream().getReader();
              }
              const step = await reader.read();
              if (step.done) {
                reader = null;
                continue;
              }
              controller.enqueue(step.value);
              return;
            }
          },
          cancel(reason) {
            if (reader) reader.cancel(reason).catch(() => {});
            reader = null;
            index = pieces.length;
          },
        }, { highWaterMark: 0 });
      },
    };
  }
}
