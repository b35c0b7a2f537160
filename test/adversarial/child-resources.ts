/**
 * Child process of resources.test.ts: runs ONE hostile refresh against the parent's hostile IdP
 * and prints one JSON line with the RSS growth, so the number is not polluted by the test
 * runner, the server, or other tests.
 *
 * Usage: node --import tsx --expose-gc test/adversarial/child-resources.ts <case> <origin>
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createJwksCache } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';

/**
 * The caches' deadlines sit on a clock nobody advances: a loaded machine makes a case slower,
 * never a JWKS_TIMEOUT instead of its real outcome. (`ms` below is printed, never asserted.)
 */
const idle = (): { clock: ManualClock; scheduler: ManualClock } => {
  const clock = new ManualClock();
  return { clock, scheduler: clock };
};

export const CASES = {
  'gzip-bomb': { path: '/bomb-gzip', maxResponseBytes: undefined },
  'br-bomb': { path: '/bomb-br', maxResponseBytes: undefined },
  'deflate-bomb': { path: '/bomb-deflate', maxResponseBytes: undefined },
  'big-10mb': { path: '/big-10mb', maxResponseBytes: undefined },
  'one-byte-chunks': { path: '/one-byte-chunks', maxResponseBytes: undefined },
  'keys-100k-default-cap': { path: '/keys-100k', maxResponseBytes: undefined },
  'keys-100k-32mib-cap': { path: '/keys-100k', maxResponseBytes: 32 * 1024 * 1024 },
} as const;
export type CaseName = keyof typeof CASES;

const MiB = 1024 * 1024;

/** Peak RSS of this process in bytes (Linux VmHWM), or undefined elsewhere. */
function highWaterMark(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const [name, origin] = process.argv.slice(2) as [CaseName | undefined, string | undefined];
  if (!name || !(name in CASES) || !origin) throw new Error(`usage: child-resources.ts <${Object.keys(CASES).join('|')}> <origin>`);
  const c = CASES[name];
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

  // Warm up: fetch, every decoder, JSON, validation and key import, so lazily loaded code and
  // one-time allocations are in the baseline.
  for (const path of ['/warm', '/warm-gzip', '/warm-br', '/warm-deflate']) {
    const warm = createJwksCache({ jwksUri: `${origin}${path}`, timeoutMs: 10_000, ...idle() });
    await warm.ready();
    await warm.close();
  }
  gc();
  gc();
  await new Promise((r) => setTimeout(r, 50));
  let hwmReset = false;
  try {
    writeFileSync('/proc/self/clear_refs', '5'); // reset VmHWM to the current RSS
    hwmReset = true;
  } catch {
    // not Linux, or not permitted: rely on sampling
  }
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 1);

  const t0 = performance.now();
  const cache = createJwksCache({ jwksUri: `${origin}${c.path}`, timeoutMs: 20_000, ...idle(), ...(c.maxResponseBytes ? { maxResponseBytes: c.maxResponseBytes } : {}) });
  const r = await cache.refresh();
  const ms = performance.now() - t0;
  clearInterval(sampler);
  const after = process.memoryUsage().rss;
  const hwm = hwmReset ? highWaterMark() : undefined;
  const top = Math.max(peak, after, hwm ?? 0);
  const keyCount = cache.stats().keyCount;
  await cache.close();
  console.log(
    JSON.stringify({
      case: name,
      ok: r.ok,
      code: r.error?.code,
      keyCount,
      ms: Math.round(ms),
      rssBeforeMiB: +(before / MiB).toFixed(1),
      rssAfterMiB: +(after / MiB).toFixed(1),
      rssPeakMiB: +(top / MiB).toFixed(1),
      growthMiB: +((top - before) / MiB).toFixed(1),
      peakSource: hwm !== undefined && hwm >= peak && hwm >= after ? 'VmHWM' : 'sampled',
    }),
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
