// The page's words, in English and 简体中文. Every string a person reads goes through t():
// views never hold visible text of their own. Catalogs live in www/locales/<lang>/<part>.json
// (the same keys in every language, named parameters written {name}); a part is one area
// of the page, so the people working on it do not edit one big file:
//   app.json    the page shell and the views
//   core.json   the core's codes (findings, verdict reasons, errors): key "code.<code>"
//   lesson.json the lesson view
//
// Catalog text may mark words that stay English in every language: `code` (a command, a
// file name, a format: drawn in code font) and [en:Union FS] (a gloss beside the Chinese
// term). t() gives plain text (for attributes); tNode() gives DOM nodes with those words
// marked lang="en" translate="no", and string parameters drawn as archive data.
//
// Language choice, strongest first: ?lang= in the URL, the switcher's remembered choice
// (localStorage), navigator.languages (any zh* → zh-CN), else English.

export const LANGS = ['en', 'zh-CN'];
export const PARTS = ['app', 'core', 'lesson'];
import { visible } from './util.js';
const STORE_KEY = 'strata.lang';

const catalogs = new Map(); // lang → flat { key: text }
let current = 'en';
const listeners = new Set();

/** The language in use now ('en' or 'zh-CN'). */
export function lang() {
  return current;
}

/** Normalise any language tag to one of LANGS, or null. */
export function pickLang(tag) {
  if (!tag) return null;
  const low = String(tag).toLowerCase();
  if (low.startsWith('zh')) return 'zh-CN';
  if (low.startsWith('en')) return 'en';
  return null;
}

/** The language the page should start in, by the rules above. */
export function chooseLang(search = location.search, languages = navigator.languages || [navigator.language]) {
  const fromUrl = pickLang(new URLSearchParams(search).get('lang'));
  if (fromUrl) return fromUrl;
  let stored = null;
  try {
    stored = pickLang(localStorage.getItem(STORE_KEY));
  } catch {
    // storage refused (privacy mode): fall through
  }
  if (stored) return stored;
  for (const l of languages) {
    const picked = pickLang(l);
    if (picked) return picked;
  }
  return 'en';
}

async function load(l) {
  if (catalogs.has(l)) return catalogs.get(l);
  const parts = await Promise.all(PARTS.map(async (part) => {
    const r = await fetch(new URL(`../locales/${l}/${part}.json`, import.meta.url));
    if (!r.ok) throw new Error(`catalog ${l}/${part}.json: HTTP ${r.status}`);
    return r.json();
  }));
  const flat = Object.assign({}, ...parts);
  catalogs.set(l, flat);
  return flat;
}

/** Load the catalogs and apply the chosen language (call once before the first render). */
export async function initI18n(l = chooseLang()) {
  await load('en'); // the fallback for any key a catalog lacks
  await load(l);
  apply(l);
}

/** Fetch a language's catalogs ahead of a switch (a switch then only redraws). */
export function preload(l) {
  return load(pickLang(l) || 'en').catch(() => {}); // (a switch reports a failure itself)
}

/** Switch language: remember it, set <html lang>, and tell every listener to redraw. */
export async function setLang(l) {
  const picked = pickLang(l) || 'en';
  await load(picked);
  try {
    localStorage.setItem(STORE_KEY, picked);
  } catch {
    // not remembered, still switched
  }
  apply(picked);
  for (const fn of listeners) fn(picked);
}

function apply(l) {
  current = l;
  document.documentElement.lang = l;
}

/** Call `fn(lang)` after every switch. Returns a function that stops it. */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Whether the catalogs know `key` (in the current language or English). */
export function has(key) {
  return key in (catalogs.get(current) || {}) || key in (catalogs.get('en') || {});
}

/** The text for `key` with {name} parameters filled in. A missing key falls back to English,
 * then to the key itself (visible, so a test can catch it). */
export function t(key, params) {
  const text = plain(raw(key));
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(fmtParam(params[name])) : whole));
}

function raw(key) {
  return catalogs.get(current)?.[key] ?? catalogs.get('en')?.[key] ?? key;
}

// `code` and [en:gloss] marks dropped: the words stay, as text.
function plain(text) {
  return text.replace(/`([^`]*)`/g, '$1').replace(/\[en:([^\]]*)\]/g, '$1');
}

/** `key` with a count: the catalog's `key.one` or `key.other` by the language's plural
 * rules (Chinese has only `other`), {n} filled with the count. */
export function tCount(key, n, params = {}) {
  const form = new Intl.PluralRules(current).select(n);
  const full = has(`${key}.${form}`) ? `${key}.${form}` : `${key}.other`;
  return t(full, { n, ...params });
}

/** Like tCount, as DOM nodes (see tNode). */
export function tCountNode(key, n, params = {}) {
  const form = new Intl.PluralRules(current).select(n);
  const full = has(`${key}.${form}`) ? `${key}.${form}` : `${key}.other`;
  return tNode(full, { n, ...params });
}

/** The text for `key` as a DocumentFragment: `code` → <code lang="en" translate="no">,
 * [en:x] → <span lang="en" translate="no">, a string or number parameter → archive data
 * (<span translate="no">, hidden characters made visible), a Node parameter as it is
 * (a translated sub-phrase, a link). */
export function tNode(key, params = {}) {
  return markup(raw(key), params);
}

function markup(text, params) {
  const fragment = document.createDocumentFragment();
  const re = /`([^`]*)`|\[en:([^\]]*)\]|\{(\w+)\}/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > at) fragment.append(text.slice(at, m.index));
    at = m.index + m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) {
      const node = document.createElement(m[1] !== undefined ? 'code' : 'span');
      node.setAttribute('lang', 'en');
      node.setAttribute('translate', 'no');
      node.textContent = m[1] ?? m[2];
      fragment.append(node);
    } else if (!(m[3] in params)) {
      fragment.append(m[0]);
    } else {
      const value = params[m[3]];
      if (value instanceof Node) fragment.append(value);
      else if (isMessage(value)) fragment.append(tCodeNode(value));
      else if (typeof value === 'number') fragment.append(formatNumber(value));
      else {
        const node = document.createElement('span');
        node.setAttribute('translate', 'no');
        node.append(visible(value ?? ''));
        fragment.append(node);
      }
    }
  }
  if (at < text.length) fragment.append(text.slice(at));
  return fragment;
}

// A parameter is a number, a string (archive data) or, from the core, another coded
// message ({code, params, message}: a reason inside a sentence), worded in turn.
const isMessage = (v) => v !== null && typeof v === 'object' && !(v instanceof Node) && 'code' in v;

function fmtParam(v) {
  if (isMessage(v)) return tCode(v);
  return typeof v === 'number' ? formatNumber(v) : v;
}

/** A message from the core ({code, params, message}) in the page's language; a code the
 * catalogs do not know shows the core's English message. */
export function tCode(item) {
  if (!item) return '';
  const key = `code.${item.code}`;
  if (item.code && has(key)) return t(key, item.params || {});
  return item.message ?? String(item.code ?? '');
}

/** A core message as DOM nodes: its parameters drawn as archive data; the English fallback
 * for a code the catalogs do not know is marked lang="en" (English on purpose). */
export function tCodeNode(item) {
  if (!item) return document.createDocumentFragment();
  const key = `code.${item.code}`;
  if (item.code && has(key)) return tNode(key, item.params || {});
  const node = document.createElement('span');
  node.setAttribute('lang', 'en');
  node.append(visible(item.message ?? String(item.code ?? '')));
  return node;
}

/** Fill the page's static text: data-i18n (text, with tNode's marks), data-i18n-title,
 * data-i18n-aria-label, data-i18n-placeholder (plain text). */
export function translateStatic(root = document) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.replaceChildren(tNode(node.dataset.i18n));
  for (const [attr, name] of [['i18nTitle', 'title'], ['i18nAriaLabel', 'aria-label'], ['i18nPlaceholder', 'placeholder']]) {
    for (const node of root.querySelectorAll(`[data-${name === 'title' ? 'i18n-title' : name === 'aria-label' ? 'i18n-aria-label' : 'i18n-placeholder'}]`)) {
      node.setAttribute(name, t(node.dataset[attr]));
    }
  }
}

/** Counts, with the language's grouping. */
export function formatNumber(n) {
  // One formatter per language: making one costs ~50 µs, and a lesson step formats a
  // number for each of its hundreds of rows (it was the step's biggest script cost).
  if (numberFormatLang !== current) {
    numberFormat = new Intl.NumberFormat(current);
    numberFormatLang = current;
  }
  return numberFormat.format(n);
}
let numberFormat = null;
let numberFormatLang = null;

/** Sizes the way the docker CLI prints them (SI, base 1000: "154MB"); the same in every
 * language, as Chinese tutorials print docker's output. */
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${value}B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))}${units[unit]}`;
}

/** docker's time buckets (go-units HumanDuration): [amount, unit] or a special word. */
export function dockerDuration(seconds) {
  const s = Math.floor(seconds);
  if (s < 1) return ['less-than-second', 0];
  if (s === 1) return ['second', 1];
  if (s < 60) return ['second', s];
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return ['about-minute', 1];
  if (minutes < 60) return ['minute', minutes];
  const hours = Math.floor(seconds / 3600 + 0.5);
  if (hours === 1) return ['about-hour', 1];
  if (hours < 48) return ['hour', hours];
  if (hours < 24 * 7 * 2) return ['day', Math.floor(hours / 24)];
  if (hours < 24 * 30 * 2) return ['week', Math.floor(hours / 24 / 7)];
  if (hours < 24 * 365 * 2) return ['month', Math.floor(hours / 24 / 30)];
  return ['year', Math.floor(Math.floor(seconds / 3600) / 24 / 365)];
}

const ENGLISH_DURATION = {
  'less-than-second': () => 'Less than a second',
  second: (n) => (n === 1 ? '1 second' : `${n} seconds`),
  'about-minute': () => 'About a minute',
  minute: (n) => `${n} minutes`,
  'about-hour': () => 'About an hour',
  hour: (n) => `${n} hours`,
  day: (n) => `${n} days`,
  week: (n) => `${n} weeks`,
  month: (n) => `${n} months`,
  year: (n) => `${n} years`,
};

/** CREATED as docker prints it: docker's exact English words ("About a minute ago",
 * "3 weeks ago"); in other languages the same buckets through Intl.RelativeTimeFormat. */
export function formatAgo(iso, now = Date.now()) {
  if (!iso) return '—';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return String(iso);
  const seconds = (now - at) / 1000;
  if (seconds < 0) return t('time.future');
  const [unit, n] = dockerDuration(seconds);
  if (current === 'en') return `${ENGLISH_DURATION[unit](n)} ago`;
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'always' });
  const intlUnit = { 'less-than-second': 'second', 'about-minute': 'minute', 'about-hour': 'hour' }[unit] || unit;
  return rtf.format(-Math.max(n, unit === 'less-than-second' ? 0 : n), intlUnit);
}

/** An absolute time for tooltips, in the page's language. */
export function formatDateTime(iso) {
  const at = typeof iso === 'number' ? iso * 1000 : Date.parse(iso);
  if (iso === null || iso === undefined || Number.isNaN(at)) return '—';
  return new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' }).format(at) + ' UTC';
}
