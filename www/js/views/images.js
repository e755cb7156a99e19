// The `docker images` table, and the platform picker for multi-platform archives.
import { h, clear, data, shortId, repoTag, platformOf, imageVerdict, imageSizeKnown } from '../util.js';
import { t, formatSize, formatAgo, formatDateTime, formatNumber } from '../i18n.js';

// docker's own column headers stay as docker prints them (Chinese tutorials do too), with
// the page's word beside them where the language has one: [docker's word, catalog key].
const HEAD = [['REPOSITORY', 'images.col.repository'], ['TAG', 'images.col.tag'], ['IMAGE ID', 'images.col.id'],
  ['CREATED', 'images.col.created'], ['SIZE', 'images.col.size']];

/** A column header: docker's English word (lang="en"), then the page's gloss when it says
 * something else (English shows only docker's word). */
export function dockerHeader(word, key) {
  const gloss = t(key);
  return h('th', { scope: 'col' }, h('span', { lang: 'en', translate: 'no' }, word),
    gloss && gloss !== word ? h('span', { class: 'col-gloss' }, ' ', gloss) : null);
}

export function renderImagesTable(box, report, selected, onSelect, stage) {
  clear(box);
  const multiPlatform = new Set(report.images.map(platformOf)).size > 1;
  const head = HEAD.map(([word, key]) => dockerHeader(word, key));
  if (multiPlatform) head.push(h('th', { scope: 'col' }, t('images.col.platform')));
  head.push(h('th', { scope: 'col' }, t('images.col.layers')), h('th', { scope: 'col' }, t('images.col.digests')));
  const labels = head.map((th) => th.textContent);
  const rows = [];
  for (const image of report.images) {
    const tags = image.repo_tags.length ? image.repo_tags : [null];
    for (const tag of tags) {
      const [repo, tagName] = tag ? repoTag(tag) : ['<none>', '<none>'];
      const isSelected = image.index === selected;
      const verdict = imageVerdict(image, report.verification_done);
      const row = h('tr', {
        class: isSelected ? 'selected clickable' : 'clickable', tabindex: '0',
        'aria-selected': isSelected ? 'true' : 'false', dataset: { image: String(image.index) },
        onclick: () => onSelect(image.index),
        onkeydown: (event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            onSelect(image.index);
          }
        },
      },
      // A 100 KB repository name must not push every other column off screen: cut with an
      // ellipsis, the whole name in the tooltip (and in the Overview).
      h('td', { class: repo === '<none>' ? 'none' : 'repo cut', translate: 'no', title: repo }, repo),
      h('td', { class: tagName === '<none>' ? 'none' : 'tag cut', translate: 'no', title: tagName }, tagName),
      h('td', { class: 'mono', title: image.id, translate: 'no' }, shortId(image.id)),
      h('td', { title: image.created ? formatDateTime(image.created) : '' }, formatAgo(image.created)),
      // Not known until every compressed layer was read (the sum would be compressed sizes).
      imageSizeKnown(image) ? h('td', { class: 'num' }, formatSize(image.size))
        : h('td', { class: 'num muted size-unknown', title: t('size.not_known_title') }, t('size.not_known_yet')),
      multiPlatform ? h('td', { translate: 'no' }, platformOf(image)) : null,
      h('td', { class: 'num' }, formatNumber(image.layers.length)),
      h('td', null, verdictWord(verdict, stage)));
      // On a narrow screen each row is drawn as a card, every cell with its column's name
      // beside it (style.css: a CSS label from data-label; the table stays a table).
      [...row.children].forEach((cell, i) => { cell.dataset.label = labels[i]; });
      rows.push(row);
    }
  }
  box.append(h('table', { class: 'data images stack-narrow', 'aria-label': t('images.table_label') },
    h('thead', null, h('tr', null, head)),
    h('tbody', null, rows)));
}

function verdictWord(verdict, stage) {
  if (verdict === 'ok') return h('span', { class: 'badge ok' }, t('images.verified'));
  if (verdict === 'bad') return h('span', { class: 'badge bad' }, t('images.failed'));
  // After Cancel nothing is checking any more (as the header says).
  if (stage === 'cancelled') return h('span', { class: 'badge pending' }, t('verdict.not_verified'));
  return h('span', { class: 'badge pending' }, t('images.checking'));
}

// Images that share a name but not a platform (a multi-platform index): pick one.
export function renderPlatformPicker(box, report, selected, onSelect) {
  clear(box);
  const current = report.images[selected];
  if (!current) return;
  const key = (i) => (i.repo_tags[0] || '') + '|' + (i.repo_tags.length ? '' : i.source);
  const siblings = report.images.filter((i) => key(i) === key(current));
  if (siblings.length < 2 || new Set(siblings.map(platformOf)).size < 2) return;
  const select = h('select', { id: 'platform-select', 'aria-label': t('images.platform'), translate: 'no' },
    siblings.map((i) => h('option', { value: String(i.index), selected: i.index === selected ? true : undefined }, platformOf(i))));
  select.addEventListener('change', () => onSelect(Number(select.value)));
  box.append(h('label', { for: 'platform-select' }, t('images.platform'), ' '), select);
}
