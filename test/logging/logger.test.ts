/**
 * The `logger` option (src/logging.ts): the cache's events reach a pino-compatible logger at
 * the documented levels; bad loggers are ConfigErrors; a throwing logger cannot break a
 * refresh or a verification.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache } from '../../src/cache.js';
import { createVerifier } from '../../src/verify/verifier.js';
import { attachLogger } from '../../src/logging.js';
import type { Logger } from '../../src/logging.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';

type Line = { level: string; msg: string; obj: Record<string, unknown> };

function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, msg, obj });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const JWKS = 'https://idp.test/.well-known/jwks.json';

test('levels: routine refreshes debug, key changes info, failures warn (keys served) or error (none)', async () => {
  const clock = new ManualClock();
  const k1 = makeKey('k1');
  const idp = new FakeIdp(k1);
  const { logger, lines } = recorder();
  const keys = createJwksCache({ jwksUri: JWKS, fetch: idp.fetch, clock, scheduler: clock, logger });
  await keys.ready();
  const byEvent = (msg: RegExp) => lines.filter((l) => msg.test(l.msg));
  assert.equal(byEvent(/refresh started/)[0]?.level, 'debug');
  assert.equal(byEvent(/refreshed/)[0]?.level, 'debug');
  const changed = byEvent(/key set changed/);
  assert.equal(changed[0]?.level, 'info');
  assert.deepEqual(changed[0]?.obj.added, ['k1']);
  assert.equal(changed[0]?.obj.jwksUri, JWKS);
  idp.mode = '503';
  await keys.refresh();
  assert.equal(byEvent(/refresh failed/).at(-1)?.level, 'warn');
  await keys.close();

  const down = new FakeIdp(k1);
  down.mode = 'refuse';
  const r2 = recorder();
  const cold = createJwksCache({ jwksUri: JWKS, fetch: down.fetch, clock, scheduler: clock, logger: r2.logger });
  await cold.ready().catch(() => undefined);
  const failed = r2.lines.find((l) => /refresh failed/.test(l.msg));
  assert.equal(failed?.level, 'error');
  assert.equal(failed?.obj.code, 'JWKS_NETWORK');
  await cold.close();
});

test('the verifier passes `logger` to the cache it creates; key.firstUsed is logged at info', async () => {
  const clock = new ManualClock(Date.now());
  const k1 = makeKey('k1');
  const idp = new FakeIdp(k1);
  const { logger, lines } = recorder();
  const v = createVerifier({ issuer: ISS, audience: AUD, jwksUri: JWKS, cacheOptions: { fetch: idp.fetch, clock, scheduler: clock }, logger });
  await v.verify(await mint(k1));
  const first = lines.find((l) => /first time/.test(l.msg));
  assert.equal(first?.level, 'info');
  assert.equal(first?.obj.kid, 'k1');
  await v.close();
  const shared = createJwksCache({ jwksUri: JWKS, fetch: idp.fetch });
  assert.throws(() => createVerifier({ issuer: ISS, audience: AUD, keys: shared, logger }), { code: 'CONFIG_INVALID' });
});

test('a logger without the four methods is a ConfigError; console-like objects fit', () => {
  assert.throws(() => createJwksCache({ jwksUri: JWKS, logger: {} as Logger }), { code: 'CONFIG_INVALID' });
  assert.throws(() => createJwksCache({ jwksUri: JWKS, logger: { debug() {}, info() {}, warn() {} } as unknown as Logger }), { code: 'CONFIG_INVALID' });
  const quiet = () => {};
  assert.ok(createJwksCache({ jwksUri: JWKS, logger: { debug: quiet, info: quiet, warn: quiet, error: quiet } }));
});

test('a throwing logger is isolated; detaching stops the lines', async () => {
  const clock = new ManualClock();
  const k1 = makeKey('k1');
  const idp = new FakeIdp(k1);
  const boom = () => {
    throw new Error('logger down');
  };
  const listenerErrors: string[] = [];
  const keys = createJwksCache({ jwksUri: JWKS, fetch: idp.fetch, clock, scheduler: clock, logger: { debug: boom, info: boom, warn: boom, error: boom }, onListenerError: (_e, name) => void listenerErrors.push(name) });
  await keys.ready();
  assert.ok(listenerErrors.includes('keys.changed'));
  const { logger, lines } = recorder();
  const detach = attachLogger(keys, logger);
  await keys.refresh();
  const n = lines.length;
  assert.ok(n > 0);
  detach();
  await keys.refresh();
  assert.equal(lines.length, n);
  await keys.close();
});
