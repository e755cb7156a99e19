// A small distribution-API server on loopback, for the registry client's tests (not a real
// registry: tests/page/registry_server.mjs runs Debian's docker-registry for the page tests).
// One repository, team/app: tag `multi` a multi-platform OCI index (linux/arm64, linux/amd64,
// an attestation entry), tag `amd` the amd64 manifest; layers made by GNU tar. Options: a
// bearer-token flow, blobs without Range (200 to a range request), a tampered layer (one byte
// flipped, same length), Docker-Content-Digest hidden, CORS headers for a page of another
// origin, tokens that expire after `tokenUses` authorized requests each (numbered tok-1,
// tok-2, …: a read outliving its token gets 401 and must fetch another). Tag `nested`: an
// index whose one entry is the `multi` index; tag `deep`: 9 indexes each pointing to the
// next, the last to `multi` (past the core's MAX_INDEX_DEPTH of 8). `requests` records what
// was asked.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
};
const D = (c) => `sha256:${c.repeat(64)}`;
export const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'Authorization, Accept, Range',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Docker-Content-Digest, WWW-Authenticate',
};

const sha = (bytes) => `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;

/** A layer tar made by GNU tar from a directory with a file in it. */
function makeLayer(tmp, name, text) {
  const dir = fs.mkdtempSync(path.join(tmp, 'layer-'));
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.writeFileSync(path.join(dir, 'etc', name), text);
  const out = path.join(tmp, `${name}.tar`);
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-cf', out, '-C', dir, 'etc']);
  return fs.readFileSync(out);
}

function makeImage(arch, layers) {
  const config = Buffer.from(JSON.stringify({
    architecture: arch, os: 'linux', created: '2026-01-01T00:00:00Z',
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map(sha) },
    history: layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'COPY etc /etc' })),
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(l), size: l.length })),
  }));
  return { config, manifest };
}

/** Start it: {server, requests, port, digests, stop()}. `tmp`: a directory for the layers. */
export function startMiniRegistry({ tmp, token = false, tokenUses = 0, range = true, tamper = null, hideDigest = false, cors = false }) {
  const base = makeLayer(tmp, 'base', 'shared layer\n');
  const amdLayer = makeLayer(tmp, 'amd', 'amd64 only\n'.repeat(300));
  const armLayer = makeLayer(tmp, 'arm', 'arm64 only\n');
  const amd = makeImage('amd64', [base, amdLayer, base]); // (a layer listed twice: one blob)
  const arm = makeImage('arm64', [base, armLayer]);
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociIndex,
    manifests: [
      { mediaType: MEDIA.ociManifest, digest: sha(arm.manifest), size: arm.manifest.length, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: MEDIA.ociManifest, digest: sha(amd.manifest), size: amd.manifest.length, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MEDIA.ociManifest, digest: D('e'), size: 100, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
    ],
  }));
  const manifests = new Map([[sha(index), [index, MEDIA.ociIndex]], [sha(amd.manifest), [amd.manifest, MEDIA.ociManifest]], [sha(arm.manifest), [arm.manifest, MEDIA.ociManifest]]]);
  const tags = new Map([['multi', sha(index)], ['amd', sha(amd.manifest)]]);
  // Indexes of indexes: `nested` one level above `multi`, `deep` nine.
  const wrap = (inner) => Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MEDIA.ociIndex,
    manifests: [{ mediaType: MEDIA.ociIndex, digest: sha(inner), size: inner.length }],
  }));
  let wrapped = index;
  for (let level = 1; level <= 9; level++) {
    wrapped = wrap(wrapped);
    manifests.set(sha(wrapped), [wrapped, MEDIA.ociIndex]);
    if (level === 1) tags.set('nested', sha(wrapped));
  }
  tags.set('deep', sha(wrapped));
  // tokenUses: token → authorized requests it has left.
  const tokensLeft = new Map();
  let tokensIssued = 0;
  const authorized = (header) => {
    if (!tokenUses) return header === 'Bearer good-token';
    const name = (header || '').replace(/^Bearer /, '');
    const left = tokensLeft.get(name) || 0;
    if (left <= 0) return false;
    tokensLeft.set(name, left - 1);
    return true;
  };
  const blobs = new Map([base, amdLayer, armLayer, amd.config, arm.config].map((b) => [sha(b), b]));
  if (tamper === 'layer') {
    const bad = Buffer.from(amdLayer);
    bad[600] ^= 1; // a byte of the file's data flipped "on the registry's disk"
    blobs.set(sha(amdLayer), bad);
  }
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push({ method: req.method, path: url.pathname, range: req.headers.range || null, auth: req.headers.authorization || null });
    if (cors) for (const [name, value] of Object.entries(CORS)) res.setHeader(name, value);
    if (req.method === 'OPTIONS') {
      res.statusCode = cors ? 204 : 405;
      return res.end();
    }
    if (url.pathname === '/token') {
      res.setHeader('Content-Type', 'application/json');
      if (url.searchParams.get('scope') !== 'repository:team/app:pull' || url.searchParams.get('service') !== 'unit') {
        res.statusCode = 400;
        return res.end('{}');
      }
      if (!tokenUses) return res.end(JSON.stringify({ access_token: 'good-token' }));
      const issued = `tok-${++tokensIssued}`;
      tokensLeft.set(issued, tokenUses);
      return res.end(JSON.stringify({ token: issued, expires_in: 300 }));
    }
    if (token && !authorized(req.headers.authorization)) {
      res.statusCode = 401;
      const repository = (/^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname) || [])[1];
      res.setHeader('WWW-Authenticate', `Bearer realm="http://127.0.0.1:${server.address().port}/token",service="unit",scope="repository:${repository}:pull"`);
      return res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    let m = /^\/v2\/team\/app\/manifests\/(.+)$/.exec(url.pathname);
    if (m) {
      const digest = tags.get(m[1]) || m[1];
      const found = manifests.get(digest);
      if (!found) {
        res.statusCode = 404;
        return res.end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      }
      res.setHeader('Content-Type', found[1]);
      if (!hideDigest) res.setHeader('Docker-Content-Digest', digest);
      return res.end(found[0]);
    }
    m = /^\/v2\/team\/app\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const blob = m && blobs.get(m[1]);
    if (!blob) {
      res.statusCode = 404;
      return res.end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
    }
    const r = range && /^bytes=(\d+)-(\d+)$/.exec(req.headers.range || '');
    if (r) {
      const a = Number(r[1]);
      const b = Math.min(Number(r[2]), blob.length - 1);
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${a}-${b}/${blob.length}`);
      return res.end(blob.subarray(a, b + 1));
    }
    res.setHeader('Content-Length', blob.length);
    return res.end(blob);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server, requests, stop: () => new Promise((done) => { server.closeAllConnections?.(); server.close(() => done()); }), port: server.address().port, digests: { nested: tags.get('nested'), index: sha(index), amd: sha(amd.manifest), arm: sha(arm.manifest), amdLayer: sha(amdLayer), base: sha(base) },
  })));
}
