// An image straight from an OCI registry (distribution API v2), as the core reads a saved
// archive: the registry's documents and blobs become a *virtual OCI image layout tar*
// (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), described as a list of parts — small
// documents as inline bytes, layers as byte ranges of their blob URLs — which the core
// reads through src/wasm/parts_reader.rs and the helpers through js/parts_source.js. So
// every view, the verification and the helpers work unchanged.
//
// Every blob is named by the digest the registry CLAIMS (the manifest's descriptor, the
// `@sha256:` of the reference, the `Docker-Content-Digest` header), never by a digest
// computed here: the core hashes what it reads and a tampered blob shows as a mismatch.
// Only when nothing claims a digest (a tag whose registry hides Docker-Content-Digest from
// the page) is the top document hashed here, and `digestComputed` says so.
//
// No DOM: imported by the browsing worker (and by the unit tests under node).

import { remoteError, download } from './remote_source.js';

/** Largest manifest or index read: the distribution spec says registries SHOULD accept
 * at least 4 MiB, and clients need not read more. */
export const MANIFEST_MAX = 4 << 20;
/** Largest image config read (held whole, as inline bytes of the tar). Real configs are
 * a few KiB; one with a very long history is still well under this. */
export const CONFIG_MAX = 8 << 20;
/** Layer blobs probed at once (a browser opens at most 6 connections to one HTTP/1.1 host). */
const PROBES_AT_ONCE = 6;
/** Docker Hub's API host ("docker.io" in references). */
export const DOCKER_HUB = 'registry-1.docker.io';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
};
/** The Accept of every manifest request: both index kinds, both manifest kinds. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

/** What a registry must send for this page to read it (named in the CORS error). */
export const CORS_HEADERS = {
  allowOrigin: 'Access-Control-Allow-Origin',
  allowHeaders: 'Access-Control-Allow-Headers: Authorization, Accept, Range',
  exposeHeaders: 'Access-Control-Expose-Headers: Content-Range, Content-Length, Docker-Content-Digest, WWW-Authenticate',
};

// ---------------------------------------------------------------------------------------
// References, as docker reads them (github.com/distribution/reference).

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const PATH_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const DOMAIN_RE = /^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const NAME_MAX = 255;

/** A bad reference: key `registry.error.bad_reference.<reason>`, params {ref, ...more}. */
function badReference(ref, reason, why, more = {}) {
  return remoteError(`registry.error.bad_reference.${reason}`, { ref, ...more }, `"${ref}" is not an image reference: ${why}`);
}

/**
 * Parse an image reference as docker does: `[registry/]repository[:tag][@sha256:hex]`.
 * A first component with `.` or `:`, or `localhost`, is a registry; otherwise the image
 * is on Docker Hub (`nginx` → `docker.io/library/nginx:latest`). Answers
 * {registry, host, scheme, repository, tag, digest, reference, name}: `registry` as
 * written (`docker.io` for Hub), `host` the API host (`registry-1.docker.io` for Hub),
 * `reference` the tag or digest to ask for, `name` the full reference. Throws a
 * remoteError with key `registry.error.bad_reference`.
 */
export function parseReference(text) {
  const ref = String(text ?? '').trim();
  if (!ref) throw badReference(ref, 'empty', 'it is empty');
  let rest = ref;
  let digest = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw badReference(ref, 'digest', 'a digest is sha256: and 64 lowercase hex digits');
  }
  let tag = null;
  // A tag follows the last ':' after the last '/' (a ':' before it is a registry's port).
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw badReference(ref, 'tag', 'a tag is letters, digits, _ . - (at most 128, not starting with . or -)');
  }
  let registry = 'docker.io';
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      registry = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN_RE.test(registry)) throw badReference(ref, 'host', `"${registry}" is not a registry host`, { registry });
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (!path) throw badReference(ref, 'repository', 'it names no repository');
  if (path.toLowerCase() !== path) throw badReference(ref, 'lowercase', 'a repository name must be lowercase');
  if (!PATH_RE.test(path)) throw badReference(ref, 'repository', 'a repository name is lowercase letters, digits and separators (. _ __ -) between slashes');
  if (`${registry}/${path}`.length > NAME_MAX) throw badReference(ref, 'too_long', `the name is longer than ${NAME_MAX} characters`, { max: String(NAME_MAX) });
  if (!tag && !digest) tag = 'latest';
  const host = registry === 'docker.io' ? DOCKER_HUB : registry;
  const name = `${registry}/${path}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  return { registry, host, scheme: isLoopback(host) ? 'http' : 'https', repository: path, tag, digest, reference: digest || tag, name };
}

/** localhost, 127.0.0.0/8 and [::1] (with or without a port): plain http there, as
 * docker treats them as insecure registries; https everywhere else. */
export function isLoopback(host) {
  let name = host;
  if (name.startsWith('[')) name = name.slice(0, name.indexOf(']') + 1);
  else name = name.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** "os/arch[/variant]" → {os, architecture, variant} (variant null when not given). */
export function parsePlatform(text) {
  const pieces = String(text).trim().split('/');
  if (pieces.length < 2 || pieces.length > 3 || pieces.some((p) => !p)) return null;
  return { os: pieces[0], architecture: pieces[1], variant: pieces[2] || null };
}

export function platformName(p) {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** An index's entries that are images (not attestations or other artifacts). */
export function imageEntries(index) {
  return (index.manifests || []).filter((m) => m && m.platform
    && m.platform.os !== 'unknown' && m.platform.architecture !== 'unknown'
    && !(m.annotations && m.annotations['vnd.docker.reference.type']));
}

/** Which entry of an index to open: the asked platform (a missing variant matches the
 * first of that os/arch), else linux/amd64 when present, else the first image entry.
 * Throws `registry.error.no_platform` naming the platforms there. */
export function choosePlatform(index, wanted) {
  const entries = imageEntries(index);
  if (!entries.length) throw remoteError('registry.error.no_platform', { platform: wanted || 'linux/amd64', platforms: '—' }, 'the index lists no image for any platform');
  if (wanted) {
    const want = parsePlatform(wanted);
    const found = want && entries.find((m) => m.platform.os === want.os && m.platform.architecture === want.architecture
      && (!want.variant || m.platform.variant === want.variant));
    if (!found) {
      const platforms = entries.map((m) => platformName(m.platform)).join(', ');
      throw remoteError('registry.error.no_platform', { platform: String(wanted), platforms }, `the image has no platform ${wanted}; it has ${platforms}`);
    }
    return found;
  }
  return entries.find((m) => m.platform.os === 'linux' && m.platform.architecture === 'amd64') || entries[0];
}

/**
 * `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` → {scheme, params}
 * (scheme lowercased; quoted values unescaped; commas inside quotes kept).
 */
export function parseWwwAuthenticate(value) {
  const text = String(value || '').trim();
  const m = /^([A-Za-z][A-Za-z0-9_-]*)\s*(.*)$/s.exec(text);
  if (!m) return null;
  const params = {};
  const re = /\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*(?:,|$)/gy;
  let rest = m[2];
  re.lastIndex = 0;
  let p;
  while (re.lastIndex < rest.length && (p = re.exec(rest))) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
    if (p[0] === '') break;
  }
  return { scheme: m[1].toLowerCase(), params };
}

// ---------------------------------------------------------------------------------------
// The virtual tar: ustar headers, 512-byte padding, two zero blocks at the end.

const BLOCK = 512;
const encoder = new TextEncoder();

function writeString(header, offset, length, text) {
  const bytes = encoder.encode(text);
  if (bytes.length > length) throw new Error(`tar field too long: ${text}`);
  header.set(bytes, offset);
}

function writeOctal(header, offset, length, value) {
  // length - 1 octal digits and a NUL.
  writeString(header, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** The size field: 11 octal digits up to 8 GiB - 1, base-256 (GNU, what tar-rs and
 * Python read) past that. */
function writeSize(header, value) {
  if (value < 8 ** 11) {
    writeOctal(header, 124, 12, value);
    return;
  }
  header[124] = 0x80;
  let v = BigInt(value);
  for (let i = 124 + 11; i > 124; i--) {
    header[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** One ustar header block: `type` '0' (file) or '5' (directory). */
export function tarHeader(name, size, type = '0') {
  const header = new Uint8Array(BLOCK);
  writeString(header, 0, 100, name);
  writeOctal(header, 100, 8, type === '5' ? 0o755 : 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeSize(header, size);
  writeOctal(header, 136, 12, 0);
  header.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  header[156] = type.charCodeAt(0);
  writeString(header, 257, 6, 'ustar\0');
  writeString(header, 263, 2, '00');
  let sum = 0;
  for (const b of header) sum += b;
  writeString(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/**
 * A tar of `entries` as parts: [{name, dir: true}] | [{name, bytes}] | [{name, size,
 * part}] where `part` is `{url, size, headers?}` or `{blob}` and holds exactly `size`
 * bytes. Consecutive inline bytes (headers, padding, small documents) are joined into one
 * part. Answers {parts, size}.
 */
export function composeTar(entries) {
  const parts = [];
  let inline = [];
  let size = 0;
  const flush = () => {
    if (!inline.length) return;
    const total = inline.reduce((n, b) => n + b.length, 0);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const b of inline) {
      joined.set(b, at);
      at += b.length;
    }
    parts.push({ bytes: joined });
    inline = [];
  };
  const add = (bytes) => {
    inline.push(bytes);
    size += bytes.length;
  };
  for (const entry of entries) {
    if (entry.dir) {
      add(tarHeader(entry.name.endsWith('/') ? entry.name : `${entry.name}/`, 0, '5'));
      continue;
    }
    const length = entry.bytes ? entry.bytes.length : entry.size;
    add(tarHeader(entry.name, length));
    if (entry.bytes) {
      add(entry.bytes);
    } else if (length > 0) {
      flush();
      parts.push(entry.part);
      size += length;
    }
    const pad = (BLOCK - (length % BLOCK)) % BLOCK;
    if (pad) add(new Uint8Array(pad));
  }
  add(new Uint8Array(2 * BLOCK));
  flush();
  return { parts, size };
}

/** `blobs/sha256/<hex>` for `sha256:<hex>`. */
export function blobPath(digest) {
  return `blobs/${digest.replace(':', '/')}`;
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

// ---------------------------------------------------------------------------------------
// The client.

/** The CORS error, naming the headers a registry must send. */
export function corsError(origin) {
  return remoteError('registry.error.cors', { origin, ...CORS_HEADERS },
    `the registry at ${origin} does not let this page read it (CORS): it must send ${CORS_HEADERS.allowOrigin}, `
    + `${CORS_HEADERS.allowHeaders} and ${CORS_HEADERS.exposeHeaders}. Docker Hub and most public registries send none: `
    + 'use a registry of your own configured with CORS, or open a saved archive (docker save).');
}

/**
 * Reads one image of one registry. `fetchFn` is `fetch` (tests pass their own), `signal`
 * cancels every request, `progress(done, total)` hears the bytes fetched.
 */
export class RegistryClient {
  constructor(ref, { fetchFn = globalThis.fetch.bind(globalThis), signal = null, progress = () => {} } = {}) {
    this.ref = ref;
    this.fetchFn = fetchFn;
    this.signal = signal;
    this.progress = progress;
    this.base = `${ref.scheme}://${ref.host}/v2/${ref.repository}`;
    this.origin = `${ref.scheme}://${ref.host}`;
    this.token = null;
    this.fetched = 0;
  }

  /** Headers every request carries: the token, once there is one. */
  authHeaders() {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  /** Why a request with no answer failed: CORS (a `no-cors` request reaches the server),
   * or the network. */
  async failed(url) {
    try {
      await this.fetchFn(url, { method: 'GET', mode: 'no-cors', cache: 'no-store', signal: this.signal });
    } catch (error) {
      if (this.signal?.aborted) throw error;
      return remoteError('registry.error.network', { origin: this.origin }, `the registry at ${this.origin} could not be reached`);
    }
    return corsError(this.origin);
  }

  /** GET `url` with `headers`; a 401 goes through the bearer-token flow once (a first
   * token, or a new one for an expired token: an open can outlive one). When another
   * request got a new token meanwhile, that one is used, not a third. */
  async get(url, headers = {}) {
    const tokenSent = this.token;
    let response = await this.send(url, headers);
    if (response.status === 401) {
      if (this.token === tokenSent) await this.authenticate(response);
      else response.body?.cancel().catch(() => {});
      response = await this.send(url, headers);
    }
    if (response.status === 401 || response.status === 403) {
      response.body?.cancel().catch(() => {});
      throw remoteError('registry.error.auth_refused', { status: String(response.status), repository: this.ref.repository },
        `the registry refused to let this page pull ${this.ref.repository} (${response.status}): the image is private, or needs a login this page cannot give`);
    }
    return response;
  }

  async send(url, headers) {
    try {
      return await this.fetchFn(url, { headers: { ...headers, ...this.authHeaders() }, cache: 'no-store', signal: this.signal });
    } catch (error) {
      if (this.signal?.aborted) throw error;
      throw await this.failed(url);
    }
  }

  /** The bearer-token flow: 401 + `WWW-Authenticate: Bearer realm,service,scope` → GET
   * realm?service&scope → `token` (or `access_token`). Anonymous: no credentials. */
  async authenticate(response) {
    response.body?.cancel().catch(() => {});
    const header = response.headers.get('WWW-Authenticate');
    if (!header) {
      throw remoteError('registry.error.auth_hidden', { origin: this.origin },
        `the registry at ${this.origin} asks for a login (401) but does not let the page read its WWW-Authenticate header (it must list it in Access-Control-Expose-Headers)`);
    }
    const challenge = parseWwwAuthenticate(header);
    if (!challenge || challenge.scheme !== 'bearer') {
      throw remoteError('registry.error.auth_scheme', { scheme: challenge ? challenge.scheme : header },
        `the registry asks for ${challenge ? challenge.scheme : header} authentication; this page only follows the anonymous bearer-token flow (no user names or passwords)`);
    }
    const { realm, service, scope } = challenge.params;
    let tokenUrl = null;
    try {
      tokenUrl = realm ? new URL(realm) : null;
    } catch (error) {
      tokenUrl = null;
    }
    if (!tokenUrl || !/^https?:$/.test(tokenUrl.protocol)) {
      throw remoteError('registry.error.token_realm', { realm: String(realm ?? '') }, `the registry names no usable token service (realm ${realm ?? 'missing'})`);
    }
    if (service) tokenUrl.searchParams.set('service', service);
    tokenUrl.searchParams.set('scope', scope || `repository:${this.ref.repository}:pull`);
    let answer;
    try {
      answer = await this.fetchFn(tokenUrl.href, { cache: 'no-store', signal: this.signal });
    } catch (error) {
      if (this.signal?.aborted) throw error;
      throw remoteError('registry.error.token_unreachable', { origin: tokenUrl.origin },
        `the token service at ${tokenUrl.origin} could not be read (network, or it does not allow this page: CORS)`);
    }
    if (!answer.ok) {
      answer.body?.cancel().catch(() => {});
      throw remoteError('registry.error.token_status', { origin: tokenUrl.origin, status: String(answer.status) }, `the token service at ${tokenUrl.origin} answered ${answer.status}`);
    }
    const json = await answer.json().catch(() => null);
    const token = json && (json.token || json.access_token);
    if (!token || typeof token !== 'string') {
      throw remoteError('registry.error.token_missing', { origin: tokenUrl.origin }, `the token service at ${tokenUrl.origin} gave no token`);
    }
    this.token = token;
    // Where the readers of the parts ask for a new token when this one expires (anonymous:
    // no credentials in it, only the endpoint).
    this.tokenEndpoint = { realm, service: service || null, scope: scope || null, url: tokenUrl.href };
  }

  /** A whole answer, at most `max` bytes. */
  async readCapped(response, max, what) {
    const announced = Number(response.headers.get('Content-Length')) || 0;
    // `what`: manifest | config (keys registry.error.too_big.<what>).
    const tooBig = (size) => remoteError(`registry.error.too_big.${what}`, { size: String(size), max: String(max) },
      `the ${what} is ${size} bytes; this page reads at most ${max}`);
    if (announced > max) {
      response.body?.cancel().catch(() => {});
      throw tooBig(announced);
    }
    const reader = response.body.getReader();
    const pieces = [];
    let total = 0;
    for (;;) {
      let step;
      try {
        step = await reader.read();
      } catch (error) {
        if (this.signal?.aborted) throw error;
        throw await this.failed(response.url || this.base);
      }
      if (step.done) break;
      total += step.value.byteLength;
      if (total > max) {
        reader.cancel().catch(() => {});
        throw tooBig(`> ${max}`);
      }
      pieces.push(step.value);
      this.fetched += step.value.byteLength;
      this.progress(this.fetched, 0);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of pieces) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    return bytes;
  }

  notFound(what) {
    return remoteError('registry.error.not_found', { repository: this.ref.repository, reference: what, registry: this.ref.registry },
      `the registry ${this.ref.registry} has no ${this.ref.repository}:${what} (or the repository does not exist)`);
  }

  statusError(status) {
    return remoteError('remote.error.status', { status: String(status), origin: this.origin }, `the registry at ${this.origin} answered ${status}`);
  }

  /** An answer that must be 2xx: else its body is dropped and the error worded (404: `what`
   * is not in the repository). */
  expectOk(response, what) {
    if (response.ok) return;
    response.body?.cancel().catch(() => {});
    throw response.status === 404 ? this.notFound(what) : this.statusError(response.status);
  }

  /** A manifest or index: {bytes, json, mediaType, digest (claimed), digestComputed}. */
  async manifest(reference, claimedDigest = null) {
    const response = await this.get(`${this.base}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT });
    this.expectOk(response, reference);
    const bytes = await this.readCapped(response, MANIFEST_MAX, 'manifest');
    let json;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw remoteError('registry.error.media_type', { mediaType: response.headers.get('Content-Type') || '?' }, 'the registry answered something that is not a JSON manifest');
    }
    const contentType = (response.headers.get('Content-Type') || '').split(';')[0].trim();
    const mediaType = (json && typeof json.mediaType === 'string' && json.mediaType) || contentType
      || (json && Array.isArray(json.manifests) ? MEDIA.ociIndex : MEDIA.ociManifest);
    if (json?.schemaVersion === 1 || mediaType === MEDIA.dockerSchema1 || mediaType === MEDIA.dockerSchema1Signed) {
      throw remoteError('registry.error.schema1', {}, 'the image is in Docker\'s old schema 1 manifest format, which this page does not read (push it again with a current docker or skopeo)');
    }
    const isIndex = Array.isArray(json?.manifests);
    const isManifest = json && typeof json.config === 'object' && Array.isArray(json.layers);
    if (!isIndex && !isManifest) {
      throw remoteError('registry.error.media_type', { mediaType }, `the registry's answer (${mediaType}) is neither an image manifest nor an index`);
    }
    let digest = claimedDigest || response.headers.get('Docker-Content-Digest') || null;
    let digestComputed = false;
    if (digest && !DIGEST_RE.test(digest)) digest = null;
    if (!digest) {
      digest = `sha256:${hex(await crypto.subtle.digest('SHA-256', bytes))}`;
      digestComputed = true;
    }
    return { bytes, json, mediaType, digest, digestComputed, isIndex };
  }

  /** A small blob (the config), whole. */
  async smallBlob(digest, max, what) {
    const response = await this.get(`${this.base}/blobs/${digest}`);
    this.expectOk(response, digest);
    return this.readCapped(response, max, what);
  }

  /**
   * A layer blob as a part of the tar, `size` bytes (the manifest's claim): one small
   * range read decides how. 206: `{url, size, headers?}`, read by range later. 200 (the
   * registry ignores Range): that answer is streamed once into a Blob (never whole in JS
   * memory). A blob whose real size is not the claimed one is cut or padded to it, so the
   * core reads the claimed size and its digest check reports the mismatch.
   */
  async layerPart(digest, size) {
    const url = `${this.base}/blobs/${digest}`;
    const response = await this.get(url, { Range: 'bytes=0-0' });
    if (response.status === 404) {
      response.body?.cancel().catch(() => {});
      throw this.notFound(digest);
    }
    const headers = this.token ? this.authHeaders() : undefined;
    if (response.status === 206) {
      const range = /\/(\d+)\s*$/.exec(response.headers.get('Content-Range') || '');
      await response.arrayBuffer().catch(() => null);
      this.fetched += 1;
      const actual = range ? Number(range[1]) : size;
      if (actual === size) return { part: headers ? { url, size, headers } : { url, size }, how: 'range' };
      // The blob is not the size the manifest says: read it whole and fit it.
      const whole = await this.get(url);
      if (!whole.ok) throw this.statusError(whole.status);
      return { part: await this.fitted(whole, url, size), how: 'whole', actual };
    }
    if (response.status === 200) return { part: await this.fitted(response, url, size), how: 'whole' };
    response.body?.cancel().catch(() => {});
    throw this.statusError(response.status);
  }

  async fitted(response, url, size) {
    // (Several downloads may run at once: each adds what it got since it last said.)
    let counted = 0;
    const blob = await download(response, url, (done) => {
      this.fetched += done - counted;
      counted = done;
      this.progress(this.fetched, 0);
    });
    this.fetched += blob.size - counted;
    if (blob.size === size) return { blob };
    if (blob.size > size) return { blob: blob.slice(0, size) };
    return { blob: new Blob([blob, new Uint8Array(size - blob.size)]) };
  }
}

/** Indexes followed at most, the top one counted: the core's MAX_INDEX_DEPTH
 * (src/resolve.rs), so the page never composes a chain the core refuses to walk. */
export const MAX_INDEX_DEPTH = 8;

const isIndexMedia = (mediaType) => mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;

/**
 * The image entries of `index` and of every index it points to (an index of indexes),
 * depth first: [{entry, chain}] where `chain` is the nested indexes fetched on the way to
 * the entry ([{digest, bytes}], outermost first; empty for the top index's own entries).
 * Throws `registry.error.index_too_deep` past MAX_INDEX_DEPTH.
 */
async function nestedEntries(client, index, depth = 1, chain = [], seen = new Set()) {
  const found = imageEntries(index).filter((m) => !isIndexMedia(m.mediaType)).map((entry) => ({ entry, chain }));
  for (const m of index.manifests || []) {
    if (!m || !isIndexMedia(m.mediaType) || !DIGEST_RE.test(m.digest || '') || seen.has(m.digest)) continue;
    if (m.annotations && m.annotations['vnd.docker.reference.type']) continue;
    seen.add(m.digest);
    if (depth >= MAX_INDEX_DEPTH) {
      throw remoteError('registry.error.index_too_deep', { max: String(MAX_INDEX_DEPTH) }, `the index points to indexes more than ${MAX_INDEX_DEPTH} deep`);
    }
    const inner = await client.manifest(m.digest, m.digest);
    const path = [...chain, { digest: m.digest, bytes: inner.bytes }];
    if (inner.isIndex) found.push(...await nestedEntries(client, inner.json, depth + 1, path, seen));
  }
  return found;
}

/** The parts of a multi-platform index entry: {os, architecture, variant, digest}. */
function platformList(index) {
  return imageEntries(index).map((m) => ({ os: m.platform.os, architecture: m.platform.architecture, variant: m.platform.variant || null, digest: m.digest }));
}

/**
 * Open `{ref, platform}`: fetch the top manifest (or index, then the chosen platform's
 * manifest), the config, and probe every layer; answer {source: {parts, size, ref},
 * remote: {mode: 'registry', ref, registry, repository, reference, digest, mediaType,
 * manifestMediaType, platform, platforms, digestComputed, bytes}, baseUrl}.
 */
export async function openRegistry({ ref: text, platform = null }, options = {}) {
  const ref = parseReference(text);
  const client = new RegistryClient(ref, options);
  const top = await client.manifest(ref.reference, ref.digest);
  const blobs = []; // {digest, bytes} | {digest, size, part}
  const seen = new Set();
  const addBlob = (blob) => {
    if (seen.has(blob.digest)) return;
    seen.add(blob.digest);
    blobs.push(blob);
  };
  addBlob({ digest: top.digest, bytes: top.bytes });
  let image = top;
  let platforms = null;
  let chosen = null;
  if (top.isIndex) {
    // Platforms are the innermost manifests, through any indexes of indexes.
    const leaves = await nestedEntries(client, top.json);
    const flat = { manifests: leaves.map((l) => l.entry) };
    platforms = platformList(flat);
    const entry = choosePlatform(flat, platform);
    chosen = platformName(entry.platform);
    if (!DIGEST_RE.test(entry.digest || '')) throw remoteError('registry.error.media_type', { mediaType: String(entry.digest) }, `the index names ${entry.digest}, not a sha256 digest`);
    // The indexes on the way to the chosen manifest are blobs of the layout too: the core
    // walks the same chain (the other platforms' manifests are absent, as in a docker save).
    for (const nested of leaves.find((l) => l.entry === entry).chain) addBlob(nested);
    image = await client.manifest(entry.digest, entry.digest);
    if (image.isIndex) throw remoteError('registry.error.media_type', { mediaType: image.mediaType }, 'the index entry for that platform is labelled a manifest but is another index');
    addBlob({ digest: entry.digest, bytes: image.bytes });
  }
  const manifest = image.json;
  const config = manifest.config;
  if (!config || !DIGEST_RE.test(config.digest || '')) throw remoteError('registry.error.media_type', { mediaType: String(config?.mediaType) }, 'the manifest names no sha256 config');
  addBlob({ digest: config.digest, bytes: await client.smallBlob(config.digest, CONFIG_MAX, 'config') });
  if (!chosen) {
    // A single-platform manifest: its platform is in the config.
    try {
      const c = JSON.parse(new TextDecoder().decode(blobs[blobs.length - 1].bytes));
      if (c.os && c.architecture) chosen = platformName({ os: c.os, architecture: c.architecture, variant: c.variant });
    } catch (error) {
      chosen = null; // (the core reports an unreadable config)
    }
  }
  const layers = [];
  for (const layer of manifest.layers) {
    if (!layer || !DIGEST_RE.test(layer.digest || '') || !Number.isSafeInteger(layer.size) || layer.size < 0) {
      throw remoteError('registry.error.media_type', { mediaType: String(layer?.mediaType) }, 'the manifest lists a layer without a sha256 digest and size');
    }
    if (seen.has(layer.digest) || layers.some((l) => l.digest === layer.digest)) continue;
    layers.push(layer);
  }
  // The layer probes, PROBES_AT_ONCE at a time (one request each costs a round trip; one
  // after the other they were most of the time to the first view: 8 layers ~0.9 s here).
  const probed = new Array(layers.length);
  let next = 0;
  const prober = async () => {
    while (next < layers.length) {
      const i = next++;
      probed[i] = await client.layerPart(layers[i].digest, layers[i].size);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PROBES_AT_ONCE, layers.length) }, prober));
  const layerHow = probed.map((p) => p.how);
  layers.forEach((layer, i) => addBlob({ digest: layer.digest, size: layer.size, part: probed[i].part }));
  const indexJson = {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: [{
      mediaType: top.mediaType,
      digest: top.digest,
      size: top.bytes.length,
      annotations: {
        'io.containerd.image.name': ref.name,
        ...(ref.tag ? { 'org.opencontainers.image.ref.name': ref.tag } : {}),
      },
    }],
  };
  const entries = [
    { name: 'oci-layout', bytes: encoder.encode('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', bytes: encoder.encode(JSON.stringify(indexJson)) },
    { name: 'blobs', dir: true },
    { name: 'blobs/sha256', dir: true },
    ...blobs.map((b) => (b.bytes ? { name: blobPath(b.digest), bytes: b.bytes } : { name: blobPath(b.digest), size: b.size, part: b.part })),
  ];
  const { parts, size } = composeTar(entries);
  return {
    // `token`: where the readers of the url parts get a new token when theirs expires.
    source: { parts, size, ref: ref.name, ...(client.tokenEndpoint ? { token: client.tokenEndpoint } : {}) },
    remote: {
      mode: 'registry',
      ref: ref.name,
      registry: ref.registry,
      repository: ref.repository,
      reference: ref.reference,
      digest: top.digest,
      // What the reference named (an index or a manifest) and the image's own manifest.
      mediaType: top.mediaType,
      manifestMediaType: image.mediaType,
      digestComputed: top.digestComputed,
      platform: chosen,
      platforms,
      streamed: layerHow.filter((h) => h === 'whole').length,
      bytes: client.fetched,
    },
    baseUrl: client.base,
  };
}
