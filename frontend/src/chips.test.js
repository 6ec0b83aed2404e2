import { describe, expect, it } from 'vitest';
import { chipWords } from './components/ui.jsx';

// As GET /api/matches/{id} sends them: object terms flagged, display forms per language.
const terms = [
  { term: 'детский', weight: 0.3, object: false, display: { ru: 'детский', en: 'kids' } },
  { term: 'велосипед', weight: 0.2, object: true, display: { ru: 'велосипед', en: 'bicycle' } },
  { term: 'горн', weight: 0.1, object: false, display: { ru: 'горн' } },
];
const texts = ['Горный велосипед детский', ''];

describe('match chips', () => {
  it('speak the viewer language where a translation exists, object first', () => {
    expect(chipWords(terms, 'en', texts)).toEqual([
      { word: 'bicycle', object: true },
      { word: 'kids', object: false },
      { word: 'горный', object: false },
    ]);
    expect(chipWords(terms, 'ru', texts)).toEqual([
      { word: 'велосипед', object: true },
      { word: 'детский', object: false },
      { word: 'горн', object: false },
    ]);
  });
  it('fall back to the listing word for explanations without display forms', () => {
    expect(chipWords([{ term: 'детск' }, { term: 'детск' }], 'en', texts)).toEqual([
      { word: 'детский', object: false },
    ]);
    expect(chipWords(undefined, 'en')).toEqual([]);
  });
});
