// Structure: the archive's own documents, as oci.dag.dev shows a registry's (issue 23,
// item 13). `index.json`, `manifest.json`, `oci-layout`, and every manifest, index, config
// and attestation they name, drawn as formatted JSON in which each digest is a button:
// it opens the blob it names as the next document (a layer jumps to its Layers entry).
// Media types and annotations are in the JSON as written; a document's kind, its media
// type and the annotations of the descriptor that led to it head the document. Ticks:
// the report's verdict for a manifest, config or layer digest, and for the document on
// screen, whether its bytes hash to the digest it is named by (WebCrypto, here).
// Everything from the archive is text (textContent), translate="no".
import { h, clear, shortId, keepState, visible } from '../util.js';
import { t, tNode, onLangChange, formatSize } from '../i18n.js';

/** The documents an archive may have at its root, in the order they are offered. */
const ROOTS = ['index.json', 'manifest.json', 'oci-layout', 'repositories'];
/** Above this, a document is shown as plain text (its digests not made into buttons). */
const LINKED_MAX = 1 << 20;
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

const views = new WeakMap(); // state.browse (one per open archive) → StructureView

/** The Structure view of the open archive (kept, with its trail, while it is open). */
export function structureView(ctx) {
  const key = ctx.state.browse || ctx.state;
  let view = views.get(key);
  if (!view) {
    view = new StructureView(ctx);
    views.set(key, view);
  }
  view.ctx = ctx;
  return view;
}

/** What kind of document a media type names (a catalog key's last part), or null. */
function kindOf(mediaType) {
  const m = String(mediaType || '');
  if (/image\.index\.v1\+json$|manifest\.list\.v2\+json$/.test(m)) return 'index';
  if (/image\.manifest\.v1\+json$|distribution\.manifest\.v2\+json$/.test(m)) return 'manifest';
  if (/image\.config\.v1\+json$|container\.image\.v1\+json$/.test(m)) return 'config';
  if (/in-toto\+json$/.test(m)) return 'intoto';
  if (/layer|tar/.test(m)) return 'layer';
  return null;
}

/** `sha256:abc…` → the blob's name in an OCI layout. */
const blobName = (digest) => `blobs/${digest.replace(':', '/')}`;

/** The digest a file's name says it has (`blobs/sha256/<hex>`, a legacy config
 * `<hex>.json`), or null. */
function digestOfName(name) {
  const m = /^(?:blobs\/sha256\/([0-9a-f]{64})|([0-9a-f]{64})\.json)$/.exec(String(name || ''));
  return m ? `sha256:${m[1] || m[2]}` : null;
}

async function sha256Of(bytes) {
  const hash = await crypto.subtle.digest('SHA-256', bytes);
  return `sha256:${Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

class StructureView {
  constructor(ctx) {
    this.ctx = ctx;
    this.trail = []; // [{name, digest, descriptor}] — the documents opened, the last one shown
    this.roots = null; // names of ROOTS that the archive has
    this.element = h('div', { class: 'structure', id: 'structure' });
    onLangChange(() => {
      if (this.element.isConnected) this.render();
    });
  }

  /** Put the view on screen (called on every page refresh: verdicts may have come in,
   * so the ticks are drawn again; focus and scroll stay where they were). */
  async show() {
    if (!this.started) {
      this.documents = new Map(); // name → {bytes, text, json, sha256} | {error}
      this.started = (async () => {
        const roots = [];
        for (const name of ROOTS) {
          const doc = await this.load(name);
          if (!doc.error) roots.push(name);
        }
        this.roots = roots;
        if (roots.length && !this.trail.length) this.trail = [{ name: roots[0] }];
      })();
    }
    await this.started;
    if (!this.element.isConnected) return;
    keepState(this.element, () => this.render(), () => this.element);
    this.element.dataset.ready = 'true';
  }

  async load(name) {
    if (this.documents.has(name)) return this.documents.get(name);
    let doc;
    try {
      const bytes = await this.ctx.core('archiveDocument', { name });
      const text = new TextDecoder().decode(bytes);
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined; // shown as text
      }
      doc = { bytes, text, json, sha256: await sha256Of(bytes) };
    } catch (error) {
      doc = { error };
    }
    this.documents.set(name, doc);
    return doc;
  }

  /** The report's verdicts by digest (and by layer file name): manifests, configs (image
   * IDs) and layers — a layer's is its blob digest's and diff_id's together (a legacy
   * `docker save` has only the diff_id), a failure winning. */
  verdicts() {
    const out = new Map();
    const check = (checks, item) => (checks || []).find((c) => c.item === item)?.verdict;
    for (const image of this.ctx.report.images) {
      if (image.manifest_digest) out.set(image.manifest_digest, check(image.checks, 'manifest digest'));
      out.set(image.id, check(image.checks, 'config digest'));
      for (const layer of image.layers) {
        const verdicts = [check(layer.checks, 'blob digest'), check(layer.checks, 'diff_id')].filter(Boolean);
        const verdict = verdicts.find((v) => v !== 'ok') ?? verdicts[0];
        for (const key of [layer.digest, layer.path]) if (key && verdict) out.set(key, verdict);
      }
    }
    return out;
  }

  /** The image layer a digest (or archive path) names: {image, layer}, or null. */
  layerOf(digestOrPath) {
    for (const image of this.ctx.report.images) {
      const k = image.layers.findIndex((l) => l.digest === digestOrPath || l.path === digestOrPath);
      if (k >= 0) return { image: image.index ?? this.ctx.report.images.indexOf(image), layer: k };
    }
    return null;
  }

  /** The image layer a link leads to (null: the link opens a document). A descriptor that
   * says it is a manifest, a config or an in-toto statement is a document whatever else
   * shares its digest. */
  layerTarget(link) {
    if (['manifest', 'config', 'index', 'intoto'].includes(kindOf(link.descriptor?.mediaType))) return null;
    return this.layerOf(link.digest || link.name);
  }

  /** Follow a link: a layer goes to its Layers entry; anything else opens as a document. */
  async follow(link) {
    const layer = this.layerTarget(link);
    if (layer) {
      this.ctx.navigate({ tab: 'layers', image: layer.image, layerFocus: layer.layer });
      return;
    }
    let name = link.name || blobName(link.digest);
    let doc = await this.load(name);
    // A legacy docker save names a config `<hex>.json` at the root, not by blobs/.
    if (doc.error && link.digest && !link.name) {
      const legacy = `${link.digest.split(':')[1]}.json`;
      const other = await this.load(legacy);
      if (!other.error) {
        name = legacy;
        doc = other;
      }
    }
    this.trail.push({ name, digest: link.digest, descriptor: link.descriptor, missing: !!doc.error });
    this.render();
    document.getElementById('structure-doc-title')?.focus({ preventScroll: false });
  }

  render() {
    const roots = this.roots || [];
    const current = this.trail[this.trail.length - 1];
    clear(this.element).append(
      h('h2', { id: 'structure-title' }, t('structure.title')),
      h('p', { class: 'muted' }, tNode('structure.intro')),
      ...this.registryNote(),
      h('div', { class: 'structure-roots', role: 'group', 'aria-label': t('structure.roots') },
        h('span', { class: 'muted' }, t('structure.roots')), ' ',
        roots.map((name) => h('button', {
          type: 'button', class: `secondary small${current && this.trail.length === 1 && current.name === name ? ' selected' : ''}`,
          translate: 'no', dataset: { root: name }, 'aria-pressed': current && this.trail.length === 1 && current.name === name ? 'true' : 'false',
          onclick: () => { this.trail = [{ name }]; this.render(); },
        }, name))),
      // (Element.append would write a null as the text "null".)
      ...[this.renderTrail(), current ? this.renderDocument(current) : h('p', null, tNode('structure.none'))].filter(Boolean));
  }

  /** An image from a registry is read as a virtual OCI layout tar of its blobs
   * (www/js/registry.js): this says the layout is strata's, the blobs the registry's. */
  registryNote() {
    const remote = this.ctx.state.timings?.remote;
    if (remote?.mode !== 'registry') return [];
    return [h('p', { id: 'structure-registry-note' },
      tNode('structure.registry_note', { registry: h('code', { translate: 'no' }, remote.registry) }))];
  }

  renderTrail() {
    if (this.trail.length < 2) return null;
    return h('nav', { class: 'structure-trail', 'aria-label': t('structure.trail') },
      h('ol', null, this.trail.map((step, i) => h('li', null,
        i === this.trail.length - 1
          ? h('span', { translate: 'no', 'aria-current': 'page' }, this.shortName(step))
          : h('button', {
            type: 'button', class: 'link', translate: 'no',
            onclick: () => { this.trail = this.trail.slice(0, i + 1); this.render(); },
          }, this.shortName(step))))));
  }

  shortName(step) {
    if (step.digest) return shortId(step.digest);
    return step.name;
  }

  renderDocument(step) {
    const doc = this.documents.get(step.name);
    const box = h('section', { class: 'structure-doc', 'aria-labelledby': 'structure-doc-title' });
    const title = h('h3', { id: 'structure-doc-title', tabindex: '-1' }, h('span', { translate: 'no' }, step.name));
    if (!doc || doc.error) {
      box.append(title, h('p', { class: 'error-text', id: 'structure-missing' },
        tNode('structure.missing', { name: step.name })));
      return box;
    }
    const json = doc.json;
    const mediaType = json?.mediaType || step.descriptor?.mediaType || null;
    const kind = step.name === 'index.json' ? 'layoutIndex'
      : step.name === 'manifest.json' ? 'dockerManifest'
        : step.name === 'oci-layout' ? 'ociLayout'
          : step.name === 'repositories' ? 'repositories'
            : kindOf(mediaType) || (json?.config && json?.layers ? 'manifest' : json?.rootfs ? 'config' : json?._type?.includes('in-toto') ? 'intoto' : null);
    const facts = h('dl', { class: 'structure-facts' });
    const fact = (label, ...value) => facts.append(h('dt', null, label), h('dd', null, ...value));
    if (kind) fact(t('structure.kind'), tNode(`structure.kinds.${kind}`));
    if (mediaType) fact(t('structure.mediaType'), h('code', { translate: 'no' }, mediaType));
    fact(t('structure.size'), formatSize(doc.bytes.length));
    const named = step.digest || digestOfName(step.name);
    if (named) {
      fact(t('structure.digest'), h('code', { translate: 'no' }, named), ' ',
        named === doc.sha256
          ? h('span', { class: 'badge ok', id: 'structure-doc-verified' }, '✓ ', t('structure.hashMatches'))
          : h('span', { class: 'badge bad', id: 'structure-doc-verified' }, `✗ ${t('structure.hashDiffers', { actual: shortId(doc.sha256) })}`));
    }
    if (kind === 'intoto' && json?.predicateType) fact(tNode('structure.predicateType'), h('code', { translate: 'no' }, json.predicateType));
    const annotations = step.descriptor?.annotations;
    if (annotations && Object.keys(annotations).length) {
      fact(t('structure.annotations'), h('ul', { class: 'structure-annotations' },
        Object.entries(annotations).map(([k, v]) => h('li', { translate: 'no' }, h('code', null, k), ' = ', h('code', null, String(v))))));
    }
    const pre = h('pre', { class: 'json-doc', translate: 'no', tabindex: '0', 'aria-label': t('structure.documentLabel', { name: step.name }) });
    if (json === undefined || doc.text.length > LINKED_MAX) {
      pre.append(visible(json === undefined ? doc.text : JSON.stringify(json, null, 2), true));
    } else {
      this.writeJson(pre, json, { inDockerManifest: step.name === 'manifest.json' });
    }
    box.append(title, facts, pre);
    return box;
  }

  /** `value` as JSON indented by two spaces into `pre`: text nodes, and a button for each
   * digest (and, in docker's manifest.json, each file name it lists). */
  writeJson(pre, value, { inDockerManifest }) {
    const verdicts = this.verdicts();
    let buf = '';
    const flush = () => {
      // (visible(): bidi and zero-width characters an archive's JSON may hold are drawn as
      // marked tokens; JSON.stringify escapes only the C0 controls.)
      if (buf) pre.append(visible(buf, true));
      buf = '';
    };
    const link = (label, target) => {
      flush();
      const layer = this.layerTarget(target);
      const isLayer = !!layer;
      const dataset = { digest: target.digest || '', name: target.name || '' };
      if (isLayer) dataset.layer = 'true';
      pre.append(h('button', {
        type: 'button', class: 'link json-link', translate: 'no', dataset,
        title: isLayer ? t('structure.toLayer', { k: layer.layer }) : t('structure.open'),
        onclick: () => this.follow(target),
      }, label));
      const verdict = verdicts.get(target.digest) ?? verdicts.get(target.name);
      if (verdict === 'ok') pre.append(h('span', { class: 'json-tick ok', title: t('structure.verified'), 'aria-label': t('structure.verified') }, ' ✓'));
      else if (verdict && verdict !== 'pending') pre.append(h('span', { class: 'json-tick bad', title: t('structure.failed'), 'aria-label': t('structure.failed') }, ' ✗'));
      if (isLayer) pre.append(h('span', { class: 'json-note' }, ` ${t('structure.layerNote', { k: layer.layer })}`));
    };
    const write = (v, indent, key, parent, parentKey) => {
      if (typeof v === 'string') {
        const quoted = JSON.stringify(v);
        if (DIGEST.test(v) || (key === 'sha256' && /^[0-9a-f]{64}$/.test(v))) {
          const digest = DIGEST.test(v) ? v : `sha256:${v}`;
          const descriptor = parent && typeof parent === 'object' && !Array.isArray(parent) && parent.mediaType ? parent : undefined;
          link(quoted, { digest, descriptor });
        } else if (inDockerManifest && (key === 'Config' || parentKey === 'Layers')) {
          link(quoted, { name: v, digest: digestOfName(v) || undefined });
        } else {
          buf += quoted;
        }
        return;
      }
      if (v === null || typeof v !== 'object') {
        buf += JSON.stringify(v);
        return;
      }
      const pad = '  '.repeat(indent + 1);
      const entries = Array.isArray(v) ? v.map((x) => [null, x]) : Object.entries(v);
      const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
      if (!entries.length) {
        buf += open + close;
        return;
      }
      buf += `${open}\n`;
      entries.forEach(([k, x], i) => {
        buf += pad;
        if (k !== null) buf += `${JSON.stringify(k)}: `;
        write(x, indent + 1, k ?? key, v, k === null ? key : k);
        buf += i + 1 < entries.length ? ',\n' : '\n';
      });
      buf += `${'  '.repeat(indent)}${close}`;
    };
    write(value, 0, null, null, null);
    flush();
  }
}
