import { describe, expect, it } from 'vitest';
import { miniAppInitData } from './telegram.js';

describe('miniAppInitData', () => {
  it('reads the signed launch data Telegram puts in the fragment', () => {
    const data = 'query_id=AA&user=%7B%22id%22%3A5%7D&auth_date=1700000000&hash=abc';
    const hash = `#tgWebAppData=${encodeURIComponent(data)}&tgWebAppVersion=7.0&tgWebAppPlatform=ios`;
    expect(miniAppInitData(hash)).toBe(data);
  });
  it('is null outside Telegram', () => {
    expect(miniAppInitData('')).toBeNull();
    expect(miniAppInitData('#section')).toBeNull();
    expect(miniAppInitData('#tgWebAppVersion=7.0')).toBeNull();
  });
});
