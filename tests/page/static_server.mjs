// A static file server for the open-by-URL tests and benchmark, on loopback, with the
// behaviours real servers have, chosen by the path's first segment:
//
//   /range/NAME     CORS (Access-Control-Allow-Origin: *, Expose-Headers: Content-Range,
//                   Content-Length, ETag), Range (206 with Content-Range), an ETag
//   /norange/NAME   CORS, but Range ignored: always 200 with the whole file
//   /nocors/NAME    Range, no CORS headers at all (the browser refuses to hand the answer over)
//   /hidden/NAME    CORS and Range, but no Expose-Headers (Content-Range is unreadable)
//   /auth/NAME      401 (with CORS)
//   /replace/NAME   as /range/, until `replaceAfter` requests for it have been answered;
//                   then it serves `replacement` (another file: another size and ETag)
//   anything else, or a NAME not served: 404 (with CORS)
//
// `files` maps NAME → path on disk. Every answer is `Cache-Control: no-store`. `stats`
// counts requests and body bytes sent, per prefix, and the Range headers seen; a request
// that carried any header a preflight would be needed for is recorded in `stats.odd`.
// Run alone: `node static_server.mjs NAME=PATH …` prints the base URL and serves until killed.
import http from 'node:http';
import fs from 'node:fs';
import { createHash } from 'node:crypto';

/** Headers a browser sends on its own; anything else (If-Range, a custom header) is odd. */
const USUAL = new Set(['host', 'connection', 'range', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'origin',
  'referer', 'sec-fetch-site', 'sec-fetch-mode', 'sec-fetch-dest', 'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform',
  'pragma', 'cache-control', 'dnt', 'priority', 'if-none-match', 'if-modified-since']);

function etagOf(path) {
  const st = fs.statSync(path);
  return `"${createHash('sha256').update(`${path}:${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 16)}"`;
}

export function startStaticServer({ files = {}, replaceAfter = 2, replacement = null, port = 0 } = {}) {
  const stats = { requests: {}, bytes: {}, ranges: [], odd: [], preflights: 0 };
  const replaced = new Map(); // NAME → requests answered under /replace/
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const [, prefix, ...rest] = url.pathname.split('/');
    const name = decodeURIComponent(rest.join('/'));
    stats.requests[prefix] = (stats.requests[prefix] || 0) + 1;
    for (const h of Object.keys(req.headers)) if (!USUAL.has(h)) stats.odd.push(`${h}: ${req.headers[h]}`);
    const cors = prefix !== 'nocors';
    const headers = { 'Cache-Control': 'no-store', 'Accept-Ranges': prefix === 'norange' ? 'none' : 'bytes' };
    if (cors) {
      headers['Access-Control-Allow-Origin'] = '*';
      if (prefix !== 'hidden') headers['Access-Control-Expose-Headers'] = 'Content-Range, Content-Length, ETag';
    }
    if (req.method === 'OPTIONS') {
      // No preflight is expected (one plain Range header is safelisted): count any.
      stats.preflights += 1;
      res.writeHead(204, cors ? { ...headers, 'Access-Control-Allow-Headers': 'Range', 'Access-Control-Allow-Methods': 'GET, HEAD' } : headers);
      res.end();
      return;
    }
    let path = files[name];
    if (prefix === 'auth') {
      res.writeHead(401, { ...headers, 'Content-Type': 'text/plain' });
      res.end('login needed\n');
      return;
    }
    if (prefix === 'replace') {
      const n = (replaced.get(name) || 0) + 1;
      replaced.set(name, n);
      if (n > replaceAfter && replacement) path = replacement;
    }
    if (!['range', 'norange', 'nocors', 'hidden', 'replace'].includes(prefix) || !path || !fs.existsSync(path)) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const size = fs.statSync(path).size;
    headers.ETag = etagOf(path);
    headers['Content-Type'] = 'application/octet-stream';
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
    if (req.headers.range) stats.ranges.push(req.headers.range);
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (range && prefix !== 'norange') {
      start = Number(range[1]);
      end = range[2] === '' ? size - 1 : Math.min(Number(range[2]), size - 1);
      if (start >= size || start > end) {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    }
    headers['Content-Length'] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = fs.createReadStream(path, { start, end });
    stream.on('data', (chunk) => { stats.bytes[prefix] = (stats.bytes[prefix] || 0) + chunk.length; });
    stream.pipe(res);
    req.on('close', () => stream.destroy());
  });
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const base = `http://127.0.0.1:${server.address().port}/`;
      resolve({
        base,
        stats,
        reset: () => {
          stats.requests = {};
          stats.bytes = {};
          stats.ranges = [];
          stats.odd = [];
          stats.preflights = 0;
          replaced.clear();
        },
        stop: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }),
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
  const { base } = await startStaticServer({ files });
  console.log(base);
}
