// Unit tests of the registry client's pure parts and its flow, under node (no browser):
// references as docker reads them, WWW-Authenticate parsing, the ustar headers of the
// virtual OCI layout tar (read back by Python's tarfile and GNU tar: real tools), and
// openRegistry against a small distribution-API server on loopback (mini_registry.mjs) (manifests, index,
// blobs with and without Range, the anonymous bearer-token flow), whose composed tar the
// native `strata` CLI then opens and verifies (a tampered blob shows as a mismatch).
// The end-to-end page tests against Debian's docker-registry are tests/page/registry.test.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  parseReference, parseWwwAuthenticate, tarHeader, composeTar, openRegistry, choosePlatform, isLoopback,
} from '../../www/js/registry.js';
import { PartsFile } from '../../www/js/parts_source.js';
import { startMiniRegistry } from './mini_registry.mjs';

const startRegistry = (options = {}) => startMiniRegistry({ tmp, ...options });

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STRATA = [path.join(ROOT, 'target/release/strata'), path.join(ROOT, 'target/debug/strata')].find((p) => fs.existsSync(p));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-registry-unit-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const D = (c) => `sha256:${c.repeat(64)}`;

test('references are read as docker reads them', () => {
  const cases = [
    ['nginx', { registry: 'docker.io', host: 'registry-1.docker.io', scheme: 'https', repository: 'library/nginx', tag: 'latest', digest: null, name: 'docker.io/library/nginx:latest' }],
    ['library/nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27', name: 'docker.io/library/nginx:1.27' }],
    ['docker.io/nginx', { registry: 'docker.io', host: 'registry-1.docker.io', repository: 'library/nginx' }],
    ['index.docker.io/team/app', { registry: 'docker.io', repository: 'team/app', tag: 'latest' }],
    ['team/app:v2', { registry: 'docker.io', repository: 'team/app', tag: 'v2' }],
    ['localhost:5000/x', { registry: 'localhost:5000', host: 'localhost:5000', scheme: 'http', repository: 'x', tag: 'latest' }],
    ['localhost/x', { registry: 'localhost', scheme: 'http', repository: 'x' }],
    [`127.0.0.1:5000/x@${D('a')}`, { registry: '127.0.0.1:5000', scheme: 'http', repository: 'x', tag: null, digest: D('a'), reference: D('a'), name: `127.0.0.1:5000/x@${D('a')}` }],
    [`host.example/a/b:tag@${D('b')}`, { registry: 'host.example', scheme: 'https', repository: 'a/b', tag: 'tag', digest: D('b'), reference: D('b') }],
    ['[::1]:5000/x:1', { registry: '[::1]:5000', scheme: 'http', repository: 'x', tag: '1' }],
    ['127.1.2.3:80/x', { scheme: 'http' }],
    ['ghcr.io/org/tool', { registry: 'ghcr.io', host: 'ghcr.io', scheme: 'https', repository: 'org/tool' }],
    // A first component without . or : is a repository path on Docker Hub; with a port it is a host.
    ['myhost/x', { registry: 'docker.io', repository: 'myhost/x' }],
    ['myhost:5000/x', { registry: 'myhost:5000', scheme: 'https', repository: 'x' }],
    // No slash: the colon is a tag (docker reads "host:5000" as library/host, tag 5000).
    ['host:5000', { registry: 'docker.io', repository: 'library/host', tag: '5000' }],
    ['  a.b/c_d/e__f/g-h--i.j  ', { registry: 'a.b', repository: 'c_d/e__f/g-h--i.j' }],
  ];
  for (const [text, want] of cases) {
    const got = parseReference(text);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k], v, `${text}: ${k}`);
  }
  const bad = [
    ['', 'empty'], ['nginx:', 'tag'], ['nginx:-x', 'tag'], ['NGINX', 'lowercase'], ['docker.io/Team/app', 'lowercase'],
    ['x@sha256:abc', 'digest'], [`x@md5:${'a'.repeat(32)}`, 'digest'], ['a//b', 'repository'], ['-a.b/x', 'host'],
    ['a_.b/x', 'host'], ['x/', 'repository'], [`${'a'.repeat(256)}`, 'too_long'], ['x/.y', 'repository'],
  ];
  for (const [text, reason] of bad) {
    assert.throws(() => parseReference(text), (e) => e.key === `registry.error.bad_reference.${reason}` && e.params.ref === text.trim(), `${JSON.stringify(text)} → ${reason}`);
  }
});

test('loopback hosts are plain http', () => {
  for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.9.9.9:1', '[::1]', '[::1]:5000']) assert.equal(isLoopback(h), true, h);
  for (const h of ['example.com', '128.0.0.1', '[::2]:5000', 'localhost.example', '10.0.0.1:5000']) assert.equal(isLoopback(h), false, h);
});

test('WWW-Authenticate challenges are parsed', () => {
  assert.deepEqual(parseWwwAuthenticate('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"'), {
    scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
  });
  // Commas inside quotes, escapes, spaces, unquoted tokens, case of names.
  assert.deepEqual(parseWwwAuthenticate('bearer  Realm = "http://h/t" , scope="repository:a/b:pull,push", error=insufficient_scope, x="q\\"uote"'), {
    scheme: 'bearer', params: { realm: 'http://h/t', scope: 'repository:a/b:pull,push', error: 'insufficient_scope', x: 'q"uote' },
  });
  assert.equal(parseWwwAuthenticate('Basic realm="Registry Realm"').scheme, 'basic');
  assert.equal(parseWwwAuthenticate(''), null);
});

test('platform choice: asked, else linux/amd64, else the first image; attestations are not platforms', () => {
  const index = {
    manifests: [
      { digest: D('1'), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { digest: D('2'), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { digest: D('3'), platform: { os: 'linux', architecture: 'amd64' } },
      { digest: D('4'), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
    ],
  };
  assert.equal(choosePlatform(index).digest, D('3'));
  assert.equal(choosePlatform(index, 'linux/arm64').digest, D('2'));
  assert.equal(choosePlatform(index, 'linux/arm/v7').digest, D('1'));
  assert.equal(choosePlatform({ manifests: index.manifests.slice(0, 2) }).digest, D('1'));
  assert.throws(() => choosePlatform(index, 'windows/amd64'), (e) => e.key === 'registry.error.no_platform' && e.params.platforms === 'linux/arm/v7, linux/arm64/v8, linux/amd64');
  assert.throws(() => choosePlatform(index, 'linux/arm/v6'), (e) => e.key === 'registry.error.no_platform');
});

/** Python's tarfile's reading of a tar: [[name, size, type]]. */
function pythonList(file) {
  const script = 'import sys, tarfile, json\nwith tarfile.open(sys.argv[1]) as t: print(json.dumps([[m.name, m.size, m.type.decode()] for m in t]))';
  return JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }));
}

test('ustar headers: checksum, octal sizes, base-256 past 8 GiB (read by Python and GNU tar)', () => {
  const big = 9 * 2 ** 30 + 5;
  const check = (header, name, size) => {
    const file = path.join(tmp, 'header.tar');
    fs.writeFileSync(file, header);
    const script = 'import sys, tarfile\nh = open(sys.argv[1], "rb").read(512)\nt = tarfile.TarInfo.frombuf(h, "utf-8", "strict")\nprint(t.name, t.size, t.type.decode(), t.mode)';
    assert.equal(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' }).trim(), `${name} ${size} ${header[156] === 0x35 ? '5' : '0'} ${header[156] === 0x35 ? 0o755 : 0o644}`);
  };
  check(tarHeader('blobs/sha256/' + 'a'.repeat(64), 1234), 'blobs/sha256/' + 'a'.repeat(64), 1234);
  check(tarHeader('blobs/', 0, '5'), 'blobs', 0);
  check(tarHeader('x', 8 ** 11 - 1), 'x', 8 ** 11 - 1);
  check(tarHeader('x', big), 'x', big);
  assert.equal(tarHeader('x', big)[124], 0x80);
  assert.throws(() => tarHeader('n'.repeat(101), 0));
});

/** The bytes of a source description, with url parts read (whole) from their URLs. */
async function materialize(source) {
  const pieces = [];
  for (const part of source.parts) {
    if (part.bytes) pieces.push(Buffer.from(part.bytes));
    else if (part.blob) pieces.push(Buffer.from(await part.blob.arrayBuffer()));
    else pieces.push(Buffer.from(await (await fetch(part.url, { headers: part.headers })).arrayBuffer()));
  }
  const bytes = Buffer.concat(pieces);
  assert.equal(bytes.length, source.size);
  return bytes;
}

test('composeTar: inline and outside parts, padding, end blocks; GNU tar and Python read it', async () => {
  const outside = new Blob([Buffer.alloc(1000, 7)]);
  const { parts, size } = composeTar([
    { name: 'oci-layout', bytes: new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'blobs', dir: true },
    { name: 'blobs/sha256/x', size: 1000, part: { blob: outside } },
    { name: 'blobs/sha256/y', size: 512, part: { blob: new Blob([Buffer.alloc(512, 1)]) } },
    { name: 'empty', bytes: new Uint8Array(0) },
  ]);
  assert.equal(size % 512, 0);
  // Consecutive inline bytes are joined: header+data+pad+dir+header | blob | pad+header | blob | header+end.
  assert.deepEqual(parts.map((p) => (p.bytes ? 'bytes' : 'blob')), ['bytes', 'blob', 'bytes', 'blob', 'bytes']);
  const file = path.join(tmp, 'compose.tar');
  fs.writeFileSync(file, await materialize({ parts, size }));
  assert.deepEqual(pythonList(file), [['oci-layout', 30, '0'], ['blobs', 0, '5'], ['blobs/sha256/x', 1000, '0'], ['blobs/sha256/y', 512, '0'], ['empty', 0, '0']]);
  const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
  assert.match(listing, /blobs\/sha256\/x/);
  assert.equal(execFileSync('tar', ['-xOf', file, 'blobs/sha256/x']).equals(Buffer.alloc(1000, 7)), true);
  // PartsFile reads across part edges as the bytes are.
  const whole = fs.readFileSync(file);
  const pf = new PartsFile({ parts, size });
  assert.equal(pf.size, size);
  for (const [a, b] of [[0, 10], [500, 1600], [1400, 2600], [0, size], [size - 3, size + 10], [1536, 1536]]) {
    const got = Buffer.from(await pf.slice(a, b).arrayBuffer());
    assert.equal(got.equals(whole.subarray(a, Math.min(b, size))), true, `slice ${a}-${b}`);
    const chunks = [];
    const reader = pf.slice(a, b).stream().getReader();
    for (;;) {
      const step = await reader.read();
      if (step.done) break;
      chunks.push(Buffer.from(step.value));
    }
    assert.equal(Buffer.concat(chunks).equals(whole.subarray(a, Math.min(b, size))), true, `stream ${a}-${b}`);
  }
});

/** `strata inspect --json` of a composed source, written to disk. */
async function inspect(source, name) {
  const file = path.join(tmp, `${name}.tar`);
  fs.writeFileSync(file, await materialize(source));
  const tarNames = pythonList(file).map((e) => e[0]);
  const run = spawnSync(STRATA, ['inspect', '--json', file], { encoding: 'utf8' });
  return { tarNames, run, json: run.stdout ? JSON.parse(run.stdout) : null };
}

test('openRegistry: a multi-platform index by tag; the composed tar opens and verifies in strata', { skip: !STRATA && 'no strata binary (cargo build --bin strata)' }, async () => {
  const reg = await startRegistry();
  try {
    const fetched = [];
    const opened = await openRegistry({ ref: `127.0.0.1:${reg.port}/team/app:multi` }, { progress: (done) => fetched.push(done) });
    const { remote, source } = opened;
    assert.equal(remote.mode, 'registry');
    assert.equal(remote.ref, `127.0.0.1:${reg.port}/team/app:multi`);
    assert.equal(remote.digest, reg.digests.index);
    assert.equal(remote.digestComputed, false);
    assert.equal(remote.platform, 'linux/amd64');
    assert.deepEqual(remote.platforms.map((p) => `${p.os}/${p.architecture}`), ['linux/arm64', 'linux/amd64']);
    assert.ok(fetched.length > 0 && remote.bytes > 0);
    // Layers are url parts (read by Range later), probed with one 1-byte range each, once.
    const urlParts = source.parts.filter((p) => p.url);
    assert.equal(urlParts.length, 2);
    assert.ok(urlParts.every((p) => !p.headers));
    const blobRequests = reg.requests.filter((r) => r.path.includes('/blobs/'));
    assert.deepEqual(blobRequests.filter((r) => r.range).map((r) => r.range), ['bytes=0-0', 'bytes=0-0']);
    const { tarNames, run, json } = await inspect(source, 'multi');
    assert.deepEqual(tarNames.slice(0, 4), ['oci-layout', 'index.json', 'blobs', 'blobs/sha256']);
    assert.equal(tarNames.length, 4 + 5); // index, amd64 manifest, config, two layers
    assert.equal(run.status, 0, run.stderr);
    const text = JSON.stringify(json);
    assert.match(text, new RegExp(`127\\.0\\.0\\.1:${reg.port}/team/app`));
    assert.doesNotMatch(text, /mismatch/i);
  } finally {
    reg.server.close();
  }
});

test('openRegistry: the bearer-token flow, a platform asked for, a tag whose digest is hidden (computed and said)', async () => {
  const reg = await startRegistry({ token: true, hideDigest: true });
  try {
    const { remote, source } = await openRegistry({ ref: `localhost:${reg.port}/team/app:multi`, platform: 'linux/arm64' });
    assert.equal(remote.platform, 'linux/arm64');
    assert.equal(remote.digest, reg.digests.index);
    assert.equal(remote.digestComputed, true);
    assert.equal(reg.requests.filter((r) => r.path === '/token').length, 1);
    const urlParts = source.parts.filter((p) => p.url);
    assert.ok(urlParts.length === 2 && urlParts.every((p) => p.headers.Authorization === 'Bearer good-token'));
    await assert.rejects(openRegistry({ ref: `localhost:${reg.port}/team/app:multi`, platform: 'linux/s390x' }),
      (e) => e.key === 'registry.error.no_platform' && e.params.platforms === 'linux/arm64, linux/amd64');
    await assert.rejects(openRegistry({ ref: `localhost:${reg.port}/team/app:nope` }), (e) => e.key === 'registry.error.not_found' && e.params.reference === 'nope');
    await assert.rejects(openRegistry({ ref: `localhost:${reg.port}/team/other:1` }), (e) => e.key === 'registry.error.token_status');
  } finally {
    reg.server.close();
  }
});

test('openRegistry: a registry that ignores Range gets each layer streamed once into a Blob', { skip: !STRATA && 'no strata binary' }, async () => {
  const reg = await startRegistry({ range: false });
  try {
    const { remote, source } = await openRegistry({ ref: `127.0.0.1:${reg.port}/team/app@${reg.digests.amd}` });
    assert.equal(remote.digest, reg.digests.amd);
    assert.equal(remote.platforms, null);
    assert.equal(remote.platform, 'linux/amd64');
    assert.equal(remote.streamed, 2);
    assert.equal(source.parts.filter((p) => p.blob).length, 2);
    assert.equal(source.parts.filter((p) => p.url).length, 0);
    // One request per layer blob (its answer is the download), one for the config.
    assert.equal(reg.requests.filter((r) => r.path.includes('/blobs/')).length, 3);
    const { run } = await inspect(source, 'whole');
    assert.equal(run.status, 0, run.stderr);
  } finally {
    reg.server.close();
  }
});

test('openRegistry names blobs by the digest the registry claims: a tampered layer is a mismatch in strata', { skip: !STRATA && 'no strata binary' }, async () => {
  const reg = await startRegistry({ tamper: 'layer' });
  try {
    const { source } = await openRegistry({ ref: `127.0.0.1:${reg.port}/team/app:amd` });
    const { tarNames, json } = await inspect(source, 'tampered');
    assert.ok(tarNames.includes(`blobs/sha256/${reg.digests.amdLayer.slice(7)}`));
    assert.match(JSON.stringify(json), /mismatch/i);
    const check = spawnSync(STRATA, ['check', path.join(tmp, 'tampered.tar')], { encoding: 'utf8' });
    assert.equal(check.status, 1, check.stdout);
  } finally {
    reg.server.close();
  }
});

test('openRegistry: tokens that expire mid-way are renewed — by the open, and by the parts\' readers once for all parts', { skip: !STRATA && 'no strata binary' }, async () => {
  // Each token serves 4 requests: the open itself outlives its first tokens.
  const reg = await startRegistry({ token: true, tokenUses: 4 });
  try {
    const { source } = await openRegistry({ ref: `127.0.0.1:${reg.port}/team/app:multi` });
    assert.equal(source.token.url, `http://127.0.0.1:${reg.port}/token?service=unit&scope=repository%3Ateam%2Fapp%3Apull`);
    assert.deepEqual([source.token.realm, source.token.service, source.token.scope], [`http://127.0.0.1:${reg.port}/token`, 'unit', 'repository:team/app:pull']);
    assert.ok(!JSON.stringify(source.token).includes('tok-'), 'the endpoint carries no token');
    const urlParts = source.parts.filter((p) => p.url);
    assert.equal(urlParts.length, 2);
    // Every byte of the archive through PartsFile in small ranges, 3 at once (the 3 that
    // meet an expired token share one renewal, whose token serves their 3 retries): far
    // more reads than a token serves.
    const tokensBefore = reg.requests.filter((r) => r.path === '/token').length;
    const pf = new PartsFile(source);
    const buffers = [];
    for (let at = 0; at < pf.size; at += 3 * 1024) {
      const batch = [0, 1, 2].map((k) => at + k * 1024).filter((a) => a < pf.size);
      buffers.push(...await Promise.all(batch.map((a) => pf.slice(a, Math.min(pf.size, a + 1024)).arrayBuffer())));
    }
    const bytes = Buffer.concat(buffers.map((b) => Buffer.from(b)));
    assert.equal(bytes.length, pf.size);
    const refusedReads = reg.requests.filter((r) => r.path.includes('/blobs/') && r.auth && r.auth !== 'Bearer good-token');
    assert.ok(refusedReads.length > 6);
    const renewals = reg.requests.filter((r) => r.path === '/token').length - tokensBefore;
    // Parallel reads hitting the expiry share one renewal: far fewer tokens than reads.
    const blobReads = reg.requests.filter((r) => r.path.includes('/blobs/')).length;
    assert.ok(renewals >= 2 && renewals * 2 < blobReads, `${renewals} renewals for ${blobReads} blob reads`);
    // The archive read through expired tokens opens and verifies in strata.
    const file = path.join(tmp, 'expiring.tar');
    fs.writeFileSync(file, bytes);
    const check = spawnSync(STRATA, ['check', file], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  } finally {
    reg.server.close();
  }
});

test('openRegistry: a second 401 after a renewal is the reader\'s error', async () => {
  const reg = await startRegistry({ token: true, tokenUses: 1 });
  try {
    const { source } = await openRegistry({ ref: `127.0.0.1:${reg.port}/team/app:amd` });
    // An endpoint that gives no token: the read is sent once more and its 401 fails it.
    const pf = new PartsFile({ ...source, token: { ...source.token, url: `http://127.0.0.1:${reg.port}/token?service=wrong` } });
    const part = source.parts.findIndex((p) => p.url);
    await assert.rejects(pf.reader(part).slice(0, 10).arrayBuffer(), (e) => /401/.test(e.message) || e.params?.status === '401');
  } finally {
    reg.server.close();
  }
});

test('openRegistry: an index of indexes is followed; its chain is in the layout, platforms from the innermost manifests', { skip: !STRATA && 'no strata binary' }, async () => {
  const reg = await startRegistry();
  try {
    const { remote, source } = await openRegistry({ ref: `127.0.0.1:${reg.port}/team/app:nested`, platform: 'linux/arm64' });
    assert.equal(remote.digest, reg.digests.nested);
    assert.equal(remote.platform, 'linux/arm64');
    assert.deepEqual(remote.platforms.map((p) => `${p.os}/${p.architecture}`), ['linux/arm64', 'linux/amd64']);
    const { tarNames, run, json } = await inspect(source, 'nested');
    for (const digest of [reg.digests.nested, reg.digests.index, reg.digests.arm]) assert.ok(tarNames.includes(`blobs/sha256/${digest.slice(7)}`), digest);
    assert.equal(tarNames.length, 4 + 6); // two indexes, arm64 manifest, config, two layers
    assert.equal(run.status, 0, run.stderr);
    const text = JSON.stringify(json);
    assert.doesNotMatch(text, /mismatch|IndexTooDeep|index_too_deep/i);
    assert.match(text, /arm64/);
    const check = spawnSync(STRATA, ['check', path.join(tmp, 'nested.tar')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout);
    // Past the core's depth (9 indexes above `multi`): said, not walked.
    await assert.rejects(openRegistry({ ref: `127.0.0.1:${reg.port}/team/app:deep` }), (e) => e.key === 'registry.error.index_too_deep' && e.params.max === '8');
  } finally {
    reg.server.close();
  }
});
