import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { normaliseParams, signParams, signedParams } from '../src/polyv/sign.js';

describe('Polyv signing', () => {
  it("reproduces Polyv's published test vector", () => {
    const params = {
      appId: 'g4rqgmmjuo',
      channelIds: '2477096,2272655',
      endDay: '2022-06-18',
      startDay: '2022-05-20',
      timestamp: 1660270926732,
    };
    expect(signParams(params, 'fsq2k5weced1h8vui657xtdva66whf0g')).toBe(
      '0D2BDA2FD04D93A2B8832B91FD973C4D',
    );
  });

  it('ignores key order, the sign parameter itself, and empty values', () => {
    const secret = 'fsq2k5weced1h8vui657xtdva66whf0g';
    const a = signParams(
      { b: '2', a: '1', sign: 'X', empty: '', blank: '  ', none: null, missing: undefined },
      secret,
    );
    expect(a).toBe(signParams({ a: '1', b: '2' }, secret));
    expect(normaliseParams({ a: 1, b: ' ', c: null })).toEqual({ a: '1' });
  });

  it('sorts keys by ASCII code, not locale (upper case before lower case)', () => {
    const secret = 's';
    // ASCII: "B" (66) < "a" (97); a locale sort would put "a" first.
    const expected = signParams({ B: '1', a: '2' }, secret);
    expect(expected).toBe(createHash('md5').update('sB1a2s').digest('hex').toUpperCase());
  });

  it('supports SHA256 as the alternative signature method', () => {
    const md5 = signParams({ a: '1' }, 's');
    const sha = signParams({ a: '1' }, 's', 'SHA256');
    expect(md5).toMatch(/^[0-9A-F]{32}$/);
    expect(sha).toMatch(/^[0-9A-F]{64}$/);
  });

  it('adds appId, a 13-digit timestamp and the signature, never the secret', () => {
    const signed = signedParams(
      { channelId: '1' },
      { appId: 'app', appSecret: 'top-secret' },
      1700000000000,
    );
    expect(signed).toEqual({
      channelId: '1',
      appId: 'app',
      timestamp: '1700000000000',
      sign: signParams({ channelId: '1', appId: 'app', timestamp: '1700000000000' }, 'top-secret'),
    });
    expect(JSON.stringify(signed)).not.toContain('top-secret');
  });
});
