import { describe, expect, it } from 'vitest';
import { errorMessage, fieldErrors, readCookie } from './api.js';
import { translator } from './i18n.jsx';
import { describe as describeNote } from './pages/Inbox.jsx';

const t = translator('en');
const ru = translator('ru');

describe('readCookie', () => {
  it('finds the CSRF cookie among others', () => {
    expect(readCookie('fm_csrf', 'a=1; fm_csrf=abc%2Fdef; b=2')).toBe('abc/def');
    expect(readCookie('fm_csrf', 'fm_csrf_old=x')).toBeNull();
    expect(readCookie('fm_csrf', '')).toBeNull();
  });
});

describe('API errors', () => {
  const invalid = {
    response: {
      status: 422,
      data: {
        code: 'validation_failed',
        detail: [
          { loc: ['body', 'title'], type: 'string_too_short', msg: 'String should have at least 2 characters', ctx: { min_length: 2 } },
          { loc: ['body', 'city'], type: 'value_error', msg: 'Value error, text must not contain NUL characters' },
        ],
      },
    },
  };
  it('maps a 422 to per-field messages in the viewer language', () => {
    expect(fieldErrors(invalid, t)).toEqual({ title: 'At least 2 characters', city: 'Invalid value' });
    expect(fieldErrors(invalid, ru)).toEqual({ title: 'Минимум 2 символа', city: 'Недопустимое значение' });
    expect(fieldErrors({ response: { status: 409, data: { detail: 'x' } } }, t)).toEqual({});
  });
  it('renders an error by its code and params, never the English detail', () => {
    const reserved = { response: { status: 409, data: { detail: 'item 3 is already promised', code: 'item_reserved', params: { item_id: 3 } } } };
    expect(errorMessage(reserved, ru, ru.has)).toBe('Эта вещь уже обещана в другой сделке.');
    expect(errorMessage(reserved, t, t.has)).toBe('This item is already promised in another exchange.');
    const state = { response: { status: 409, data: { code: 'exchange_wrong_state', params: { action: 'accept', status: 'cancelled' } } } };
    expect(errorMessage(state, ru, ru.has)).toContain('отменена');
    const limited = { response: { status: 429, data: { code: 'rate_limited', params: { retry_after: 5 } } } };
    expect(errorMessage(limited, ru, ru.has)).toContain('5 секунд');
    expect(errorMessage(invalid, t, t.has)).toBe('title: At least 2 characters; city: Invalid value');
    // A code this UI does not know yet: a generic sentence with the status, still translated.
    const unknown = { response: { status: 500, data: { detail: 'internal error', code: 'brand_new' } } };
    expect(errorMessage(unknown, ru, ru.has)).toBe('Ошибка 500');
    expect(errorMessage({ message: 'Network Error' }, t, t.has)).toBe('Cannot reach the server');
  });
});

describe('inbox text', () => {
  it('describes matches and exchange events', () => {
    const m = describeNote({ kind: 'match', payload: { want_title: 'bike', offer_title: 'Stels' } }, t, t.has);
    expect(m).toEqual({ text: 'New match: your want “bike” fits the offer “Stels”', to: '/matches' });
    const e = describeNote({ kind: 'exchange', payload: { exchange_id: 4, event: 'accept:accepted', by: 'bob' } }, t, t.has);
    expect(e.text).toBe('Exchange #4: a party agreed (@bob)');
  });
});
