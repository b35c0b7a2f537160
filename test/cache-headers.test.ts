import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  MAX_HEADER_DURATION_MS,
  clamp,
  freshnessFromHeaders,
  parseHttpDate,
  parseRetryAfter,
} from '../src/fetch/cache-headers.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0); // Thu, 01 Jan 2026 12:00:00 GMT
const http = (ms: number): string => new Date(ms).toUTCString();
const TEN_YEARS = MAX_HEADER_DURATION_MS;

type H = Parameters<typeof freshnessFromHeaders>[0];

describe('freshnessFromHeaders', () => {
  const table: Array<[string, H, number | undefined]> = [
    ['nothing', {}, undefined],
    ['all null', { cacheControl: null, expires: null, date: null, age: null }, undefined],
    ['empty cache-control', { cacheControl: '' }, undefined],
    ['only unknown directives', { cacheControl: 'public, must-revalidate, immutable, foo=bar' }, undefined],
    ['max-age', { cacheControl: 'max-age=300' }, 300_000],
    ['max-age=0', { cacheControl: 'max-age=0' }, 0],
    ['no-cache', { cacheControl: 'no-cache' }, 0],
    ['no-store', { cacheControl: 'no-store' }, 0],
    ['no-cache beats max-age', { cacheControl: 'max-age=600, no-cache' }, 0],
    ['qualified no-cache is conservative', { cacheControl: 'no-cache="set-cookie, x", max-age=60' }, 0],
    ['uppercase names', { cacheControl: 'PUBLIC, MAX-AGE=60' }, 60_000],
    ['uppercase NO-STORE', { cacheControl: 'Max-Age=60, NO-STORE' }, 0],
    ['whitespace tolerant', { cacheControl: '  public ,   max-age = 60  ,' }, 60_000],
    ['quoted max-age', { cacheControl: 'max-age="60"' }, 60_000],
    ['leading zeros', { cacheControl: 'max-age=0000000000000000000060' }, 60_000],
    ['duplicated max-age: first valid wins', { cacheControl: 'max-age=60, max-age=3600' }, 60_000],
    ['duplicated max-age: invalid first skipped', { cacheControl: 'max-age=abc, max-age=120' }, 120_000],
    ['invalid max-age only → stale', { cacheControl: 'max-age=abc' }, 0],
    ['negative max-age → stale', { cacheControl: 'max-age=-5' }, 0],
    ['fractional max-age → stale', { cacheControl: 'max-age=1.5' }, 0],
    ['max-age without value → stale', { cacheControl: 'max-age' }, 0],
    ['empty max-age → stale', { cacheControl: 'max-age=' }, 0],
    ['invalid max-age beats Expires', { cacheControl: 'max-age=x', expires: http(NOW + 3_600_000) }, 0],
    ['s-maxage ignored', { cacheControl: 's-maxage=600' }, undefined],
    ['s-maxage ignored, max-age used', { cacheControl: 's-maxage=600, max-age=60' }, 60_000],
    ['huge max-age capped', { cacheControl: 'max-age=99999999999999999999999999999' }, TEN_YEARS],
    ['max-age just under cap', { cacheControl: 'max-age=86400' }, 86_400_000],
    ['max-age minus Age', { cacheControl: 'max-age=600', age: '100' }, 500_000],
    ['Age larger than max-age', { cacheControl: 'max-age=60', age: '120' }, 0],
    ['negative Age ignored', { cacheControl: 'max-age=60', age: '-30' }, 60_000],
    ['garbage Age ignored', { cacheControl: 'max-age=60', age: 'soon' }, 60_000],
    ['huge Age → 0', { cacheControl: 'max-age=60', age: '999999999999999999999' }, 0],
    ['max-age wins over Expires', { cacheControl: 'max-age=60', expires: http(NOW + 3_600_000) }, 60_000],
    ['Expires minus Date', { expires: http(NOW + 120_000), date: http(NOW) }, 120_000],
    ['Expires minus Date ignores our clock skew', { expires: http(NOW + 120_000), date: http(NOW + 60_000) }, 60_000],
    ['Expires minus now without Date', { expires: http(NOW + 90_000) }, 90_000],
    ['Expires minus now with invalid Date', { expires: http(NOW + 90_000), date: 'yesterday' }, 90_000],
    ['Expires minus Age', { expires: http(NOW + 120_000), date: http(NOW), age: '20' }, 100_000],
    ['Expires in the past', { expires: http(NOW - 60_000), date: http(NOW) }, 0],
    ['Expires "0" → stale', { expires: '0' }, 0],
    ['Expires "-1" → stale', { expires: '-1' }, 0],
    ['Expires empty → stale', { expires: '' }, 0],
    ['Expires garbage → stale', { expires: 'next tuesday' }, 0],
    ['Expires far future capped', { expires: 'Fri, 31 Dec 9999 23:59:59 GMT', date: http(NOW) }, TEN_YEARS],
    ['Expires with unknown cache-control', { cacheControl: 'public', expires: http(NOW + 10_000) }, 10_000],
    ['Expires RFC 850 form', { expires: 'Thursday, 01-Jan-26 12:01:00 GMT', date: http(NOW) }, 60_000],
    ['Expires asctime form', { expires: 'Thu Jan  1 12:02:00 2026', date: http(NOW) }, 120_000],
    ['Expires invalid calendar date', { expires: 'Mon, 30 Feb 2026 12:00:00 GMT' }, 0],
  ];
  for (const [name, headers, expected] of table) {
    it(name, () => {
      const got = freshnessFromHeaders(headers, NOW);
      assert.equal(got, expected);
      if (got !== undefined) {
        assert.ok(Number.isFinite(got) && got >= 0, `finite and non-negative: ${got}`);
      }
    });
  }

  it('is never negative, NaN or Infinity for garbage input', () => {
    const garbage = [
      '',
      ',,,',
      '=',
      '="',
      'max-age="',
      'max-age=1e400',
      'max-age=Infinity',
      'max-age=NaN',
      'max-age=0x10',
      '\u0000max-age=5',
      'max-age=5\u0000',
      'no-cache=',
      'max-age="5\\"',
    ];
    const dates = [undefined, null, '', 'garbage', http(NOW), http(8.64e15), 'Sat, 01 Jan 0000 00:00:00 GMT'];
    for (const cacheControl of garbage) {
      for (const expires of dates) {
        for (const date of dates) {
          for (const age of [undefined, '', '-1', '1e9', '5', '99999999999999999999999']) {
            const got = freshnessFromHeaders({ cacheControl, expires, date, age }, NOW);
            if (got !== undefined) {
              assert.ok(
                Number.isFinite(got) && got >= 0 && got <= TEN_YEARS,
                `${JSON.stringify({ cacheControl, expires, date, age })} -> ${got}`,
              );
            }
          }
        }
      }
    }
  });
});

describe('parseHttpDate', () => {
  it('parses the three HTTP-date forms', () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), expected);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), expected);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), expected);
    assert.equal(parseHttpDate('sun, 06 nov 1994 08:49:37 gmt'), expected);
    assert.equal(parseHttpDate(http(NOW)), NOW);
  });
  it('rejects what Date.parse would accept', () => {
    for (const bad of ['0', '-1', '7.5', '2026', '2026-01-01T00:00:00Z', 'Sun, 06 Nov 1994 08:49:37 +0000', 'Sun, 06 Nov 1994 25:00:00 GMT', '', null, undefined]) {
      assert.equal(parseHttpDate(bad), undefined, String(bad));
    }
  });
});

describe('parseRetryAfter', () => {
  const table: Array<[string | null | undefined, number | undefined]> = [
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['   ', undefined],
    ['7', 7000],
    [' 7 ', 7000],
    ['0', 0],
    ['-7', undefined],
    ['7.5', undefined],
    ['1e3', undefined],
    ['soon', undefined],
    ['99999999999999999999999', TEN_YEARS],
    [http(NOW + 30_000), 30_000],
    [http(NOW - 30_000), 0],
    ['Thursday, 01-Jan-26 12:01:00 GMT', 60_000],
    ['Fri, 31 Dec 9999 23:59:59 GMT', TEN_YEARS],
    ['Mon, 30 Feb 2026 12:00:00 GMT', undefined],
  ];
  for (const [value, expected] of table) {
    it(`${JSON.stringify(value)} → ${expected}`, () => {
      assert.equal(parseRetryAfter(value, NOW), expected);
    });
  }
});

describe('clamp', () => {
  it('clamps into [min, max]', () => {
    assert.equal(clamp(5, 0, 10), 5);
    assert.equal(clamp(-5, 0, 10), 0);
    assert.equal(clamp(50, 0, 10), 10);
    assert.equal(clamp(Infinity, 0, 10), 10);
    assert.equal(clamp(-Infinity, 0, 10), 0);
    assert.equal(clamp(0, 0, 0), 0);
  });
  it('maps NaN to the lower bound', () => {
    assert.equal(clamp(Number.NaN, 3, 10), 3);
  });
  it('lets max win when min > max', () => {
    assert.equal(clamp(5, 10, 3), 3);
  });
});
