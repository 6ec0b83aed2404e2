// The catalogs are complete and every piece of UI text comes from them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as acorn from 'acorn';
import jsx from 'acorn-jsx';
import { parse as parseIcu, TYPE } from '@formatjs/icu-messageformat-parser';
import { describe, expect, it } from 'vitest';
import { MESSAGES, browserLanguage, pickLanguage, translator } from './i18n.jsx';

const SRC = path.dirname(fileURLToPath(import.meta.url));
const Parser = acorn.Parser.extend(jsx());
// Attributes people read or hear (screen readers): they must be translated too.
const TEXT_ATTRIBUTES = new Set(['placeholder', 'title', 'alt', 'aria-label', 'label', 'legend']);
const LETTER = /\p{L}/u;

function sources(dir = SRC) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'locales' ? [] : sources(full);
    return /\.(jsx|js)$/.test(entry.name) && !entry.name.endsWith('.test.js') ? [full] : [];
  });
}

function walk(node, visit, parent = null) {
  if (!node || typeof node.type !== 'string') return;
  visit(node, parent);
  for (const [key, value] of Object.entries(node)) {
    if (key === 'loc' || key === 'start' || key === 'end') continue;
    if (Array.isArray(value)) value.forEach((child) => walk(child, visit, node));
    else if (value && typeof value === 'object') walk(value, visit, node);
  }
}

function parseFile(file) {
  return Parser.parse(fs.readFileSync(file, 'utf8'), { sourceType: 'module', ecmaVersion: 'latest', locations: true });
}

/** Text written straight into the markup instead of coming from a catalog. */
export function hardCodedTexts(file) {
  const found = [];
  const where = (node) => `${path.relative(SRC, file)}:${node.loc.start.line}`;
  walk(parseFile(file), (node, parent) => {
    if (node.type === 'JSXText' && LETTER.test(node.value)) found.push(`${where(node)} text "${node.value.trim()}"`);
    if (node.type === 'JSXAttribute' && TEXT_ATTRIBUTES.has(node.name?.name)) {
      const v = node.value;
      const literal = v?.type === 'Literal' ? v.value : v?.expression?.type === 'Literal' ? v.expression.value : null;
      if (typeof literal === 'string' && LETTER.test(literal)) found.push(`${where(node)} ${node.name.name}="${literal}"`);
    }
    if (
      node.type === 'JSXExpressionContainer' &&
      parent?.type === 'JSXElement' &&
      ((node.expression.type === 'Literal' && typeof node.expression.value === 'string' && LETTER.test(node.expression.value)) ||
        (node.expression.type === 'TemplateLiteral' && node.expression.quasis.some((q) => LETTER.test(q.value.cooked))))
    ) {
      found.push(`${where(node)} literal in markup`);
    }
  });
  return found;
}

/** Message keys the code names literally: t('a.b'), t(`a.${x}`) as a prefix. */
function usedKeys(file) {
  const exact = new Set();
  const prefixes = new Set();
  walk(parseFile(file), (node) => {
    if (node.type !== 'CallExpression' || node.callee.type !== 'Identifier' || node.callee.name !== 't') return;
    const arg = node.arguments[0];
    if (arg?.type === 'Literal' && typeof arg.value === 'string') exact.add(arg.value);
    if (arg?.type === 'TemplateLiteral') prefixes.add(arg.quasis[0].value.cooked);
  });
  return { exact, prefixes };
}

/** Names of the arguments an ICU message uses, with the type each is used as. */
function argumentsOf(elements, out = new Map()) {
  for (const el of elements) {
    if (el.type === TYPE.literal || el.type === TYPE.pound) continue;
    out.set(el.value, el.type === TYPE.tag ? 'tag' : el.type === TYPE.plural ? 'plural' : el.type === TYPE.select ? 'select' : 'text');
    if (el.options) Object.values(el.options).forEach((o) => argumentsOf(o.value, out));
    if (el.children) argumentsOf(el.children, out);
  }
  return out;
}

describe('catalogs', () => {
  it('have the same keys in every language', () => {
    const [first, ...others] = Object.keys(MESSAGES);
    for (const lang of others) {
      const missingHere = Object.keys(MESSAGES[first]).filter((k) => !(k in MESSAGES[lang]));
      const missingThere = Object.keys(MESSAGES[lang]).filter((k) => !(k in MESSAGES[first]));
      expect({ lang, missingHere, missingThere }).toEqual({ lang, missingHere: [], missingThere: [] });
    }
  });

  it('hold valid ICU messages that use the same arguments in every language', () => {
    const problems = [];
    for (const key of Object.keys(MESSAGES.ru)) {
      const parsed = {};
      for (const lang of Object.keys(MESSAGES)) {
        try {
          parsed[lang] = Object.fromEntries(argumentsOf(parseIcu(MESSAGES[lang][key])));
        } catch (err) {
          problems.push(`${lang} ${key}: ${err.message}`);
        }
      }
      if (parsed.ru && parsed.en && JSON.stringify(Object.keys(parsed.ru).sort()) !== JSON.stringify(Object.keys(parsed.en).sort())) {
        problems.push(`${key}: ru uses ${Object.keys(parsed.ru)} but en ${Object.keys(parsed.en)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('contain every key the code asks for', () => {
    const keys = new Set(Object.keys(MESSAGES.ru));
    const missing = [];
    for (const file of sources()) {
      const { exact, prefixes } = usedKeys(file);
      for (const k of exact) if (!keys.has(k)) missing.push(`${path.relative(SRC, file)}: ${k}`);
      for (const p of prefixes) {
        if (![...keys].some((k) => k.startsWith(p))) missing.push(`${path.relative(SRC, file)}: ${p}*`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('UI text', () => {
  it('comes only from the catalogs', () => {
    expect(sources().flatMap(hardCodedTexts)).toEqual([]);
  });

  it('is caught when written into the markup', () => {
    const tmp = path.join(SRC, '..', 'node_modules', '.fm-hardcoded.jsx');
    fs.writeFileSync(tmp, 'export const A = () => <p title="Hello">Привет {"there"} <b>{t("x")}</b></p>;\n');
    try {
      expect(hardCodedTexts(tmp).length).toBe(3);
    } finally {
      fs.unlinkSync(tmp);
    }
  });
});

describe('plurals and numbers', () => {
  const ru = translator('ru');
  const en = translator('en');
  it('agree with the number in Russian', () => {
    expect(ru('profile.ratings', { n: 1 })).toBe('1 оценка');
    expect(ru('profile.ratings', { n: 3 })).toBe('3 оценки');
    expect(ru('profile.ratings', { n: 5 })).toBe('5 оценок');
    expect(ru('profile.ratings', { n: 21 })).toBe('21 оценка');
    expect(ru('people.exchanges', { n: 2 })).toBe('2 завершённых обмена');
    expect(ru('v.tooShort', { n: 2 })).toBe('Минимум 2 символа');
  });
  it('agree with the number in English', () => {
    expect(en('profile.ratings', { n: 1 })).toBe('1 rating');
    expect(en('profile.ratings', { n: 4 })).toBe('4 ratings');
    expect(en('people.exchanges', { n: 1 })).toBe('1 completed exchange');
  });
  it('agree with the person giving', () => {
    const leg = (t, giverIsYou) =>
      t('trades.leg', { giverIsYou, receiverIsYou: 'no', giver: '@bob', receiver: '@ann', title: 'Bike', item: (c) => c.join('') });
    expect(leg(ru, 'yes')).toContain('Вы отдаёте');
    expect(leg(ru, 'no')).toContain('@bob отдаёт');
    expect(leg(en, 'yes')).toContain('You give');
    expect(leg(en, 'no')).toContain('@bob gives');
  });
  it('format numbers per locale', () => {
    expect(ru('error.body_too_large', { max_bytes: 1000000 })).toContain('1 000 000'.replace(/ /g, '\u00a0'));
    expect(en('error.body_too_large', { max_bytes: 1000000 })).toContain('1,000,000');
  });
});

describe('language choice', () => {
  it('prefers the saved setting, then this browser, then its languages, then Russian', () => {
    expect(pickLanguage({ saved: 'en', stored: 'ru', preferences: ['ru-RU'] })).toBe('en');
    expect(pickLanguage({ saved: undefined, stored: 'en', preferences: ['ru'] })).toBe('en');
    expect(pickLanguage({ saved: undefined, stored: null, preferences: ['de-DE', 'en-GB'] })).toBe('en');
    expect(pickLanguage({ saved: undefined, stored: null, preferences: ['de-DE'] })).toBe('ru');
    expect(browserLanguage(['EN-us'])).toBe('en');
  });
});
