/** The pure refresh policies, as tables (the property tests are in test/adversarial/props-policies.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backgroundRefreshAt, backoffDelayMs, effectiveFreshnessMs, usability } from '../../../src/policy/refresh.js';

test('effectiveFreshnessMs: header lifetime clamped to [min, max], default without headers', () => {
  const cfg = { minRefreshIntervalMs: 60_000, maxRefreshIntervalMs: 3_600_000, defaultRefreshIntervalMs: 600_000 };
  const rows: [number | undefined, number][] = [
    [undefined, 600_000],
    [Number.NaN, 600_000],
    [0, 60_000],
    [30_000, 60_000],
    [300_000, 300_000],
    [25_200_000, 3_600_000],
    [Number.POSITIVE_INFINITY, 600_000],
  ];
  for (const [header, want] of rows) assert.equal(effectiveFreshnessMs(header, cfg), want, String(header));
});

test('backoffDelayMs: exponential from initialMs, capped, jitter 50–100 %, Retry-After a capped floor', () => {
  const cfg = { initialMs: 2_000, maxMs: 300_000, maxRetryAfterMs: 600_000 };
  const rows: [failures: number, random: number, retryAfter: number | undefined, want: number][] = [
    [1, 1, undefined, 2_000],
    [1, 0, undefined, 1_000],
    [2, 1, undefined, 4_000],
    [5, 1, undefined, 32_000],
    [20, 1, undefined, 300_000],
    [20, 0, undefined, 150_000],
    [1, 1, 120_000, 120_000],
    [1, 1, 10_000_000, 600_000],
    [8, 1, 1_000, 256_000],
  ];
  for (const [n, r, ra, want] of rows) assert.equal(backoffDelayMs(n, cfg, r, ra), want, `${n} failures, random ${r}, Retry-After ${ra}`);
});

test('backgroundRefreshAt: between 75 % and 90 % of the lifetime', () => {
  assert.equal(backgroundRefreshAt(1_000, 600_000, 0), 1_000 + 450_000);
  assert.equal(backgroundRefreshAt(1_000, 600_000, 1), 1_000 + 540_000);
});

test('usability: fresh until freshUntil (inclusive), stale for maxStaleMs (inclusive), then expired', () => {
  const rows: [now: number, want: string][] = [
    [100, 'fresh'],
    [101, 'stale'],
    [150, 'stale'],
    [151, 'expired'],
  ];
  for (const [now, want] of rows) assert.equal(usability(now, 100, 50), want, String(now));
});
