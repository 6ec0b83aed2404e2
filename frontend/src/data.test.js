import { describe, expect, it } from 'vitest';
import { namers } from './data.js';

const t = (key, params) => (key === 'common.you' ? 'you' : `${key}:${params?.id ?? ''}`);

describe('namers', () => {
  const people = { 1: { id: 1, username: 'anna', display_name: 'Anna' }, 2: null, 3: { id: 3, username: 'me' } };
  const items = { 10: { id: 10, title: 'Bike' }, 11: null };
  const { who, itemTitle } = namers(people, items, t, 3);

  it('names loaded people and items', () => {
    expect(who(1)).toBe('Anna');
    expect(who(3)).toBe('you');
    expect(itemTitle(10)).toBe('Bike');
  });
  it('shows an ellipsis while loading and a placeholder when gone', () => {
    expect(who(4)).toBe('…');
    expect(who(2)).toBe('common.user:2');
    expect(itemTitle(12)).toBe('…');
    expect(itemTitle(11)).toBe('common.item:11');
  });
});
