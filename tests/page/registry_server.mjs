// Real OCI registries for the registry page tests (issue 24, item 2), all on loopback,
// all started and stopped by the tests themselves:
//
//   cors       Debian's docker-registry (distribution 2.8) with filesystem storage in a
//              temp dir and CORS headers in its `http.headers` config. Distribution answers
//              preflights itself (OPTIONS → 200 with those headers, on every /v2/ path:
//              checked in `start`), so no proxy is needed in front of it.
//   nocors     a second docker-registry over the SAME storage, without `http.headers`: the
//              browser refuses to hand its answers to the page.
//   token      a small Node proxy in front of `cors` that wants a bearer token: /v2/…
//              without one → 401 `WWW-Authenticate: Bearer realm="http://127.0.0.1:P/token",
//              service="strata-test",scope="repository:NAME:pull"`; GET /token?service&scope
//              → {"token": …} (anonymous, as Docker Hub's); then it forwards to `cors`.
//              (Distribution's own `auth: token` would want a JWT signed by a key in a
//              certificate bundle: this proxy speaks the same flow to the client.)
//   notoken    the same proxy, but its realm's /token answers 404: the flow cannot finish.
//   slow       the same proxy without auth, each answer 1.5 s late: the page while it opens.
//
// Images are pushed with `skopeo copy --dest-tls-verify=false`; `tamper(digest)` changes a
// blob in the registry's storage (same length) after it was pushed.
// Run alone: `node registry_server.mjs` starts them, prints the hosts and waits.
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const run = promisify(execFile);
export const REGISTRY_BIN = process.env.STRATA_DOCKER_REGISTRY || '/usr/bin/docker-registry';

/** The CORS headers a registry must send for the page (the README names them too). */
export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Allow-Headers': 'Authorization, Accept, Range',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Docker-Content-Digest, WWW-Authenticate',
};

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** distribution's config: YAML written by hand (JSON is YAML too, but keep it readable). */
function registryConfig({ port, storage, cors }) {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (cors) {
    lines.push('  headers:');
    for (const [name, value] of Object.entries(CORS_HEADERS)) lines.push(`    ${name}: ['${value}']`);
  }
  return `${lines.join('\n')}\n`;
}

async function startRegistryProcess({ dir, name, storage, cors }) {
  const port = await freePort();
  const config = path.join(dir, `${name}.yml`);
  fs.writeFileSync(config, registryConfig({ port, storage, cors }));
  const proc = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (chunk) => { log = (log + chunk).slice(-4096); });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) break;
    try {
      const r = await fetch(`http://${host}/v2/`);
      if (r.ok) return { host, base: `http://${host}`, proc };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`docker-registry (${name}) did not start: ${log}`);
}

/** The token-wanting proxy in front of `upstream` (host:port). `tokenEndpoint: false` → its
 * realm answers 404; `auth: false` → no token wanted, every answer held back `delayMs`
 * first (a slow registry, to see the page while it opens). `stats` counts what the tests
 * assert on. */
async function startTokenProxy({ upstream, tokenEndpoint = true, auth = true, delayMs = 0 }) {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const token = randomBytes(16).toString('hex');
  const stats = { unauthorized: 0, tokens: 0, scopes: [], authorized: 0, preflights: 0 };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, `http://${host}`);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (req.method === 'OPTIONS') {
      stats.preflights += 1;
      res.writeHead(204, { ...CORS_HEADERS, 'Access-Control-Max-Age': '600' });
      res.end();
      return;
    }
    if (url.pathname === '/token') {
      if (!tokenEndpoint) {
        res.writeHead(404, { ...CORS_HEADERS, 'Content-Type': 'text/plain' });
        res.end('no token endpoint here\n');
        return;
      }
      stats.tokens += 1;
      stats.scopes.push(url.searchParams.getAll('scope').join(' '));
      res.writeHead(200, { ...CORS_HEADERS, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
      return;
    }
    if (auth && req.headers.authorization !== `Bearer ${token}`) {
      stats.unauthorized += 1;
      // The repository named in the path (/v2/<name>/manifests|blobs|tags/…), as a registry
      // asks for it; /v2/ itself names none.
      const match = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(url.pathname);
      const scope = match ? `,scope="repository:${match[1]}:pull"` : '';
      res.writeHead(401, {
        ...CORS_HEADERS,
        'Content-Type': 'application/json',
        'Docker-Distribution-Api-Version': 'registry/2.0',
        'WWW-Authenticate': `Bearer realm="http://${host}/token",service="strata-test"${scope}`,
      });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }] }));
      return;
    }
    stats.authorized += 1;
    const headers = { ...req.headers, host: upstream };
    delete headers.authorization;
    const forward = http.request({ host: '127.0.0.1', port: Number(upstream.split(':')[1]), method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', (error) => {
      res.writeHead(502, CORS_HEADERS);
      res.end(String(error));
    });
    req.pipe(forward);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    host,
    base: `http://${host}`,
    stats,
    reset() { Object.assign(stats, { unauthorized: 0, tokens: 0, scopes: [], authorized: 0, preflights: 0 }); },
    stop: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}

/** A preflight as a browser sends it, to a path the page will read. */
export async function preflight(base, pathname) {
  const r = await fetch(`${base}${pathname}`, {
    method: 'OPTIONS',
    headers: { Origin: 'http://127.0.0.1:1', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization,accept,range' },
  });
  return { status: r.status, headers: Object.fromEntries(r.headers) };
}

/** Start every variant; resolves once each answers /v2/. */
export async function startRegistries() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-registry-'));
  const storage = path.join(dir, 'storage');
  fs.mkdirSync(storage);
  const started = [];
  const stopAll = async () => {
    for (const s of started.reverse()) {
      if (s.proc) {
        s.proc.kill();
        await new Promise((resolve) => (s.proc.exitCode !== null ? resolve() : s.proc.once('exit', resolve)));
      } else await s.stop();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const cors = await startRegistryProcess({ dir, name: 'cors', storage, cors: true });
    started.push(cors);
    const nocors = await startRegistryProcess({ dir, name: 'nocors', storage, cors: false });
    started.push(nocors);
    const token = await startTokenProxy({ upstream: cors.host });
    started.push(token);
    const notoken = await startTokenProxy({ upstream: cors.host, tokenEndpoint: false });
    started.push(notoken);
    const slow = await startTokenProxy({ upstream: cors.host, auth: false, delayMs: 1500 });
    started.push(slow);
    // Distribution answers preflights itself; were it not so, the page could not send
    // Authorization or a long Accept to it, and these tests would need a proxy in front.
    const answer = await preflight(cors.base, '/v2/any/manifests/latest');
    if (answer.status !== 200 || answer.headers['access-control-allow-headers'] !== CORS_HEADERS['Access-Control-Allow-Headers']) {
      throw new Error(`docker-registry does not answer preflights: ${JSON.stringify(answer)}`);
    }
    return {
      dir,
      storage,
      cors,
      nocors,
      token,
      notoken,
      slow,
      /** skopeo copy with these arguments (e.g. to make an oci-archive first). */
      copy: (args) => run('skopeo', ['copy', '-q', ...args], { maxBuffer: 1 << 20 }),
      /** skopeo copy SRC → docker://<cors>/<name>, with `args` before the names. */
      push: (source, name, args = []) => run('skopeo', ['copy', '-q', '--dest-tls-verify=false', ...args, source, `docker://${cors.host}/${name}`], { maxBuffer: 1 << 20 }),
      /** skopeo inspect over the same registry (`--raw` → the manifest bytes, `--config` →
       * the config JSON). */
      inspect: async (name, args = ['--raw']) => (await run('skopeo', ['inspect', '--tls-verify=false', ...args, `docker://${cors.host}/${name}`], { maxBuffer: 16 << 20 })).stdout,
      blobPath: (digest) => {
        const hex = digest.replace(/^sha256:/, '');
        return path.join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
      },
      /** Change the blob `digest` in the storage, keeping its length: `at` is the offset of
       * the byte flipped (a gzip blob's MTIME field, 4, keeps it a valid gzip stream of the
       * same layer: only the digest of the blob tells). */
      tamper(digest, at = 4) {
        const file = this.blobPath(digest);
        const bytes = fs.readFileSync(file);
        bytes[at] ^= 0x5a;
        fs.writeFileSync(file, bytes);
        return file;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const registries = await startRegistries();
  console.log(JSON.stringify({ cors: registries.cors.host, nocors: registries.nocors.host, token: registries.token.host, notoken: registries.notoken.host, storage: registries.storage }));
  const stop = async () => { await registries.stop(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
