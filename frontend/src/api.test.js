import { describe, expect, it } from 'vitest';
import { errorMessage, fieldErrors, readCookie } from './api.js';
import { MESSAGES, translate } from './i18n.jsx';
import { allowedActions } from './pages/Exchanges.jsx';
import { describe as describeNote } from './pages/Inbox.jsx';

const t = (key, params) => translate('en', key, params);

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
        detail: [
          { loc: ['body', 'title'], msg: 'String should have at least 2 characters' },
          { loc: ['body', 'city'], msg: 'Value error, text must not contain NUL characters' },
        ],
      },
    },
  };
  it('maps a 422 to per-field messages', () => {
    expect(fieldErrors(invalid)).toEqual({
      title: 'String should have at least 2 characters',
      city: 'text must not contain NUL characters',
    });
    expect(fieldErrors({ response: { status: 409, data: { detail: 'x' } } })).toEqual({});
  });
  it('reads any failure as one sentence', () => {
    expect(errorMessage({ response: { status: 409, data: { detail: 'item 3 is already promised' } } }, t)).toBe(
      'Conflict: item 3 is already promised',
    );
    expect(errorMessage(invalid, t)).toContain('title: String should have at least 2 characters');
    expect(errorMessage({ response: { status: 500, data: { detail: 'internal error' } } }, t)).toBe(
      'Error 500: internal error',
    );
    expect(errorMessage({ message: 'Network Error' }, t)).toBe('Cannot reach the server (Network Error)');
  });
});

describe('i18n', () => {
  it('has every Russian key in English and back', () => {
    expect(Object.keys(MESSAGES.en).sort()).toEqual(Object.keys(MESSAGES.ru).sort());
  });
  it('interpolates and falls back to the key', () => {
    expect(translate('ru', 'ex.number', { id: 7 })).toBe('Сделка #7');
    expect(translate('en', 'no.such.key')).toBe('no.such.key');
  });
});

describe('exchange buttons', () => {
  const ex = (status, me) => ({ status, parties: [me, { user_id: 2, accepted_at: null, completed_at: null }] });
  it('offers only what the server allows', () => {
    expect(allowedActions(ex('proposed', { user_id: 1, accepted_at: null, completed_at: null }), 1)).toEqual([
      'accept',
      'decline',
      'cancel',
    ]);
    expect(allowedActions(ex('proposed', { user_id: 1, accepted_at: 'x', completed_at: null }), 1)).toEqual(['cancel']);
    expect(allowedActions(ex('accepted', { user_id: 1, accepted_at: 'x', completed_at: null }), 1)).toEqual([
      'complete',
      'cancel',
    ]);
    expect(allowedActions(ex('completed', { user_id: 1, accepted_at: 'x', completed_at: 'y' }), 1)).toEqual([]);
    expect(allowedActions(ex('proposed', { user_id: 1 }), 3)).toEqual([]);
  });
});

describe('inbox text', () => {
  it('describes matches and exchange events', () => {
    const m = describeNote({ kind: 'match', payload: { want_title: 'bike', offer_title: 'Stels' } }, t);
    expect(m).toEqual({ text: 'New match: your want “bike” fits the offer “Stels”', to: '/matches' });
    const e = describeNote({ kind: 'exchange', payload: { exchange_id: 4, event: 'accept:accepted', by: 'bob' } }, t);
    expect(e.text).toBe('Exchange #4: a party agreed (@bob)');
  });
});
