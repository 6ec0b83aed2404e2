import { describe, expect, it } from 'vitest';
import { LIMITS, itemBody, validateItem, validateProfile, validateRating } from './validation.js';

const good = { kind: 'offer', category: 'bicycles', title: 'Велосипед', description: '', city: 'Москва', delivery: false };

describe('validateItem', () => {
  it('accepts a valid item', () => {
    expect(validateItem(good)).toEqual({});
  });
  it('mirrors the API limits', () => {
    expect(validateItem({ ...good, title: ' x ' }).title).toEqual(['v.tooShort', 2]);
    expect(validateItem({ ...good, title: 'x'.repeat(LIMITS.titleMax + 1) }).title).toEqual(['v.tooLong', 200]);
    expect(validateItem({ ...good, description: 'x'.repeat(5001) }).description).toEqual(['v.tooLong', 5000]);
    expect(validateItem({ ...good, city: 'x'.repeat(101) }).city).toEqual(['v.tooLong', 100]);
    expect(validateItem({ ...good, category: '' }).category).toBe('v.category');
    expect(validateItem({ ...good, category: 'Bad-Slug' }).category).toBe('v.category');
    expect(validateItem({ ...good, kind: 'sell' }).kind).toBe('v.kind');
    expect(validateItem({ ...good, title: 'ab\u0000c' }).title).toBe('v.nul');
  });
  it('does not ask for a kind when editing', () => {
    expect(validateItem({ ...good, kind: undefined }, { creating: false })).toEqual({});
  });
});

describe('itemBody', () => {
  it('trims and drops an empty city', () => {
    expect(itemBody({ ...good, title: '  Велосипед ', city: '  ' })).toEqual({
      kind: 'offer',
      category: 'bicycles',
      title: 'Велосипед',
      description: '',
      city: null,
      delivery: false,
    });
  });
  it('never sends kind on an edit', () => {
    expect(itemBody(good, { creating: false })).not.toHaveProperty('kind');
  });
});

describe('profile and rating checks', () => {
  it('limits contact and stars', () => {
    expect(validateProfile({ contact: 'x'.repeat(201) }).contact).toEqual(['v.tooLong', 200]);
    expect(validateProfile({ contact: '@me', city: 'Москва' })).toEqual({});
    // a Telegram first and last name and the space between them, as the API allows
    expect(validateProfile({ display_name: 'x'.repeat(129) })).toEqual({});
    expect(validateProfile({ display_name: 'x'.repeat(130) }).display_name).toEqual(['v.tooLong', 129]);
    expect(validateRating({ score: 0 }).score).toBe('v.stars');
    expect(validateRating({ score: 6 }).score).toBe('v.stars');
    expect(validateRating({ score: 5, comment: '' })).toEqual({});
    expect(validateRating({ score: 3, comment: 'x'.repeat(1001) }).comment).toEqual(['v.tooLong', 1000]);
  });
});
