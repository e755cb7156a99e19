// The `docker images` table, and the platform picker for multi-platform archives.
import { h, clear, humanSize, timeAgo, shortId, repoTag, platformOf, imageVerdict } from '../util.js';

export function renderImagesTable(box, report, selected, onSelect, stage) {
  clear(box);
  const multiPlatform = new Set(report.images.map(platformOf)).size > 1;
  const head = ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
  if (multiPlatform) head.push('PLATFORM');
  head.push('LAYERS', 'DIGESTS');
  const rows = [];
  for (const image of report.images) {
    const tags = image.repo_tags.length ? image.repo_tags : [null];
    for (const tag of tags) {
      const [repo, t] = tag ? repoTag(tag) : ['<none>', '<none>'];
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
      h('td', { class: repo === '<none>' ? 'none' : 'repo' }, repo),
      h('td', { class: t === '<none>' ? 'none' : 'tag' }, t),
      h('td', { class: 'mono', title: image.id }, shortId(image.id)),
      h('td', { title: image.created || '' }, timeAgo(image.created)),
      h('td', { class: 'num' }, humanSize(image.size)),
      multiPlatform ? h('td', null, platformOf(image)) : null,
      h('td', { class: 'num' }, String(image.layers.length)),
      h('td', null, verdictWord(verdict, stage)));
      rows.push(row);
    }
  }
  box.append(h('table', { class: 'data images', 'aria-label': 'Images in this archive' },
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows)));
}

function verdictWord(verdict, stage) {
  if (verdict === 'ok') return h('span', { class: 'badge ok' }, '✓ verified');
  if (verdict === 'bad') return h('span', { class: 'badge bad' }, '✗ failed');
  // After Cancel nothing is checking any more (as the header says).
  if (stage === 'cancelled') return h('span', { class: 'badge pending' }, 'not verified');
  return h('span', { class: 'badge pending' }, '… checking');
}

// Images that share a name but not a platform (a multi-platform index): pick one.
export function renderPlatformPicker(box, report, selected, onSelect) {
  clear(box);
  const current = report.images[selected];
  if (!current) return;
  const key = (i) => (i.repo_tags[0] || '') + '|' + (i.repo_tags.length ? '' : i.source);
  const siblings = report.images.filter((i) => key(i) === key(current));
  if (siblings.length < 2 || new Set(siblings.map(platformOf)).size < 2) return;
  const select = h('select', { id: 'platform-select', 'aria-label': 'Platform' },
    siblings.map((i) => h('option', { value: String(i.index), selected: i.index === selected ? true : undefined }, platformOf(i))));
  select.addEventListener('change', () => onSelect(Number(select.value)));
  box.append(h('label', { for: 'platform-select' }, 'Platform '), select);
}
