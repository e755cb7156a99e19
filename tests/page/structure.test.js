// The Structure tab (issue 23, item 13): the archive's own documents as formatted JSON, each
// digest a button to the blob it names, attestation manifests and their in-toto statements
// browsable as documents, verified ticks, both languages, axe-core, screenshots.
//   cd tests/page && node --test --test-concurrency=1 structure.test.js
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { pageTestSetup, pickFile, waitVerified, shot, fx, axeViolations } from './harness.js';

const setup = pageTestSetup({ needs: [[fx('containerd.tar'), 'fixtures missing: run tests/page/run.sh']] });

async function withArchive(file, body, options = {}) {
  await setup.withPage(async (page) => {
    await pickFile(page, file);
    await waitVerified(page);
    await page.click('#tab-structure');
    await page.waitForSelector('#structure[data-ready="true"] #structure-doc-title');
    await body(page);
  }, { ...options, foreign: true });
}

const title = (page) => page.locator('#structure-doc-title').textContent();

/** The document on screen as JSON: its text without the ticks and notes drawn beside links. */
const shownJson = (page) => page.evaluate(() => {
  const pre = document.querySelector('.structure-doc pre.json-doc').cloneNode(true);
  for (const extra of pre.querySelectorAll('.json-tick, .json-note')) extra.remove();
  return JSON.parse(pre.textContent);
});

async function openLink(page, digest) {
  await page.click(`.json-doc .json-link[data-digest="${digest}"]`);
  await page.waitForFunction((d) => document.getElementById('structure-doc-title')?.textContent === `blobs/${d.replace(':', '/')}`, digest);
}

test('an archive written by skopeo: index.json → manifest → config, as the tool wrote them, digests verified', { skip: !existsSync(fx('real/skopeo-oci.tar')) && 'real-tool archives not built' }, async () => {
  const file = fx('real/skopeo-oci.tar');
  const manifest = JSON.parse(readFileSync(fx('real/skopeo-oci.manifest.json'), 'utf8'));
  const config = JSON.parse(readFileSync(fx('real/skopeo-oci.config.json'), 'utf8'));
  await withArchive(file, async (page) => {
    assert.equal(await title(page), 'index.json');
    const index = await shownJson(page);
    assert.equal(index.schemaVersion, 2);
    assert.equal(index.manifests.length, 1);
    // The index's descriptor names the manifest; following it shows the manifest skopeo wrote.
    const manifestDigest = index.manifests[0].digest;
    await page.locator(`.json-doc .json-link[data-digest="${manifestDigest}"]`).waitFor();
    await openLink(page, manifestDigest);
    assert.deepEqual(await shownJson(page), manifest);
    assert.match(await page.locator('#structure-doc-verified').textContent(), /✓/);
    assert.equal(await page.locator('.structure-facts code').first().textContent(), 'application/vnd.oci.image.manifest.v1+json');
    // Every digest in it is a button; the layers are marked as layers, each with strata's tick.
    const links = await page.$$eval('.json-doc .json-link', (ls) => ls.map((l) => [l.dataset.digest, l.dataset.layer || '', l.nextElementSibling?.classList.contains('ok') || false]));
    assert.deepEqual(links.map((l) => l[0]), [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
    assert.deepEqual(links.slice(1).map((l) => l[1]), manifest.layers.map(() => 'true'));
    assert.ok(links.every((l) => l[2]), `every digest verified: ${JSON.stringify(links)}`);
    await shot(page, 'structure-skopeo-manifest');
    await openLink(page, manifest.config.digest);
    assert.deepEqual(await shownJson(page), config);
    assert.match(await page.locator('.structure-facts').textContent(), /image config/i);
    // The trail leads back.
    await page.click('.structure-trail button >> nth=0');
    assert.equal(await title(page), 'index.json');
    // A layer's digest goes to that layer in Layers.
    await openLink(page, manifestDigest);
    await page.click(`.json-doc .json-link[data-digest="${manifest.layers[1].digest}"]`);
    await page.waitForSelector('#tab-layers[aria-selected="true"]');
    await page.waitForFunction(() => document.activeElement?.id === 'layer-1');
  });
});

test('docker 25 with containerd: the attestation manifest and its in-toto statement are documents; the absent platform says so', async () => {
  await withArchive(fx('containerd.tar'), async (page) => {
    assert.equal(await title(page), 'index.json');
    const roots = await page.$$eval('.structure-roots button', (bs) => bs.map((b) => b.textContent));
    assert.deepEqual(roots, ['index.json', 'manifest.json', 'oci-layout']);
    const top = await shownJson(page);
    await openLink(page, top.manifests[0].digest);
    const index = await shownJson(page);
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.match(await page.locator('.structure-facts').textContent(), /image index/i);
    const attestation = index.manifests.find((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
    const absent = index.manifests.find((m) => m.platform?.architecture === 'arm64');
    assert.ok(attestation && absent);
    await shot(page, 'structure-containerd-index');
    // The platform docker did not save: named, not there.
    await openLink(page, absent.digest);
    assert.match(await page.locator('#structure-missing').textContent(), /not in this archive/);
    await page.click('.structure-trail li:nth-child(2) button');
    // The attestation manifest, with the annotations of the descriptor that named it.
    await openLink(page, attestation.digest);
    const att = await shownJson(page);
    assert.equal(att.layers[0].mediaType, 'application/vnd.in-toto+json');
    const facts = await page.locator('.structure-facts').textContent();
    assert.match(facts, /vnd\.docker\.reference\.type = attestation-manifest/);
    assert.match(await page.locator('#structure-doc-verified').textContent(), /✓/);
    // Its "layer" is an in-toto statement: opened as a document, not sent to Layers.
    const statementLink = page.locator(`.json-doc .json-link[data-digest="${att.layers[0].digest}"]`);
    assert.equal(await statementLink.getAttribute('data-layer'), null);
    await openLink(page, att.layers[0].digest);
    const statement = await shownJson(page);
    assert.equal(statement._type, 'https://in-toto.io/Statement/v0.1');
    const statementFacts = await page.locator('.structure-facts').textContent();
    assert.match(statementFacts, /in-toto/);
    assert.match(statementFacts, /https:\/\/spdx\.dev\/Document/);
    assert.match(await page.locator('#structure-doc-verified').textContent(), /✓/);
    // The subject's {"sha256": hex} is a link to the image manifest it is about.
    const subject = `sha256:${statement.subject[0].digest.sha256}`;
    assert.equal(await page.locator(`.json-doc .json-link[data-digest="${subject}"]`).count(), 1);
    await shot(page, 'structure-containerd-intoto');
    // docker's manifest.json: Config and Layers name files, and are links too.
    await page.click('.structure-roots button[data-root="manifest.json"]');
    assert.equal(await title(page), 'manifest.json');
    const layerFiles = await page.$$eval('.json-doc .json-link[data-layer="true"]', (ls) => ls.map((l) => l.dataset.name));
    assert.ok(layerFiles.length >= 1 && layerFiles.every((n) => n.startsWith('blobs/sha256/')), JSON.stringify(layerFiles));
  });
});

test('a legacy docker save: manifest.json names the config file, which opens', async () => {
  await withArchive(fx('legacy.tar'), async (page) => {
    assert.equal(await title(page), 'manifest.json');
    const manifest = await shownJson(page);
    await page.click(`.json-doc .json-link[data-name="${manifest[0].Config}"]`);
    await page.waitForFunction((n) => document.getElementById('structure-doc-title')?.textContent === n, manifest[0].Config);
    assert.ok((await shownJson(page)).rootfs);
    assert.match(await page.locator('#structure-doc-verified').textContent(), /✓/);
  });
});

test('a tampered layer: its file name in manifest.json carries a cross, the others a tick', async () => {
  // tampered.tar flips a byte of layer 1 (tests/page/main.rs).
  await withArchive(fx('tampered.tar'), async (page) => {
    assert.equal(await title(page), 'manifest.json');
    const marks = await page.$$eval('.json-doc .json-link[data-layer="true"]', (ls) => ls.map((l) => l.nextElementSibling?.className || ''));
    assert.equal(marks.length, 2, JSON.stringify(marks));
    assert.match(marks[0], /json-tick ok/);
    assert.match(marks[1], /json-tick bad/);
  });
});

for (const [lang, query] of [['en', ''], ['zh-CN', '?lang=zh-CN']]) {
  for (const colorScheme of ['light', 'dark']) {
    test(`accessibility (axe-core), ${lang}, ${colorScheme}: the Structure tab`, async () => {
      await withArchive(fx('containerd.tar'), async (page) => {
        const top = await shownJson(page);
        await openLink(page, top.manifests[0].digest);
        assert.deepEqual(await axeViolations(page, `${lang}, ${colorScheme}`), [], 'axe violations');
        if (lang === 'zh-CN') {
          // Every word of ours is Chinese: English only in archive data or marked English.
          const english = await page.evaluate(() => {
            const out = [];
            const walker = document.createTreeWalker(document.getElementById('structure'), NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
              const text = n.textContent.trim();
              if (text && /[A-Za-z]{2,}/.test(text) && !n.parentElement.closest('[translate="no"], [lang="en"]')) out.push(text);
            }
            return out;
          });
          assert.deepEqual(english, []);
        }
        await shot(page, `structure-${lang}-${colorScheme}`);
      }, { colorScheme, query, viewport: { width: 1280, height: 900 } });
    });
  }
}
