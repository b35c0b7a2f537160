/**
 * The public cache surface: the kid-only lookup for adapters (`getSigningKey`,
 * `getSigningKeys`), the verifier's hooks kept off the public type, and the `initial` mark
 * on boot-time events.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KeyObject } from 'node:crypto';
import { createJwksCache, createVerifier, ConfigError, KeysUnavailableError, TokenInvalidError } from '../../../src/index.js';
import type { JwksCache, JwksEvents } from '../../../src/index.js';
import { ManualClock } from '../../../src/testing/index.js';
import { FakeIdp } from '../../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../../helpers/keys.js';

function setup(idp: FakeIdp) {
  const clock = new ManualClock(Date.now());
  const keys = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: idp.fetch, clock, scheduler: clock, random: () => 0.5 });
  return { clock, keys };
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

describe('getSigningKey / getSigningKeys (kid-only lookup)', () => {
  test('returns frozen key material: KeyObject, public JWK members only, algorithms, thumbprint, generation', async () => {
    const k1 = makeKey('k1', 'ES256');
    const { keys } = setup(new FakeIdp(k1));
    const sk = await keys.getSigningKey('k1');
    assert.ok(sk.keyObject instanceof KeyObject);
    assert.equal(sk.keyObject.type, 'public');
    assert.equal(sk.kid, 'k1');
    assert.equal(sk.alg, 'ES256');
    assert.deepEqual([...sk.algorithms], ['ES256']);
    assert.equal(sk.generation, 1);
    assert.equal(typeof sk.thumbprint, 'string');
    assert.ok(Object.isFrozen(sk));
    assert.equal((sk.jwk as unknown as Record<string, unknown>).d, undefined);
    assert.equal(sk.jwk.kty, 'EC');
    await keys.close();
  });

  test('a kid-less lookup answers the only key, and KID_REQUIRED when there are several', async () => {
    const idp = new FakeIdp(makeKey('only'));
    const { keys } = setup(idp);
    assert.equal((await keys.getSigningKey(undefined)).kid, 'only');
    idp.publish(makeKey('a'), makeKey('b'));
    await keys.refresh();
    await assert.rejects(keys.getSigningKey(undefined), code('KID_REQUIRED'));
    assert.deepEqual(
      (await keys.getSigningKeys()).map((k) => k.kid),
      ['a', 'b'],
    );
    await keys.close();
  });

  test('an unknown kid goes through the gate: KID_NOT_FOUND after a newer set, then a negative hit without a fetch', async () => {
    const idp = new FakeIdp(makeKey('k1'));
    const { keys } = setup(idp);
    await keys.ready();
    await assert.rejects(keys.getSigningKey('ghost'), (e: unknown) => e instanceof TokenInvalidError && e.code === 'KID_NOT_FOUND');
    const fetches = idp.requests;
    await assert.rejects(keys.getSigningKey('ghost'), code('KID_NOT_FOUND'));
    assert.equal(idp.requests, fetches);
    assert.equal(keys.stats().unknownKid['negative-hit'], 1);
    await keys.close();
  });

  test('an invalid kid is KID_INVALID before any fetch; a closed cache is CLOSED', async () => {
    const idp = new FakeIdp(makeKey('k1'));
    const { keys } = setup(idp);
    await assert.rejects(keys.getSigningKey(''), code('KID_INVALID'));
    await assert.rejects(keys.getSigningKey('x'.repeat(257)), code('KID_INVALID'));
    await assert.rejects(keys.getSigningKey(5 as unknown as string), code('KID_INVALID'));
    assert.equal(idp.requests, 0);
    await keys.close();
    await assert.rejects(keys.getSigningKey('k1'), (e: unknown) => e instanceof KeysUnavailableError && e.code === 'CLOSED');
  });

  test('a newly published kid is found by the refresh it triggers', async () => {
    const idp = new FakeIdp(makeKey('k1'));
    const { keys } = setup(idp);
    await keys.ready();
    idp.add(makeKey('k2'));
    assert.equal((await keys.getSigningKey('k2')).generation, 2);
    await keys.close();
  });
});

describe('the verifier hooks are not public', () => {
  test('a cache exposes no peek/resolve/markUsed/notePregateReject/recheckAfterSignatureFailure', () => {
    const { keys } = setup(new FakeIdp(makeKey('k1')));
    for (const name of ['peek', 'resolve', 'markUsed', 'notePregateReject', 'recheckAfterSignatureFailure']) {
      assert.equal(name in keys, false, name);
    }
  });

  test('createVerifier refuses a look-alike cache object (ConfigError)', () => {
    const { keys } = setup(new FakeIdp(makeKey('k1')));
    const fake = { ...keys } as JwksCache;
    assert.throws(() => createVerifier({ issuer: ISS, audience: AUD, keys: fake }), (e: unknown) => e instanceof ConfigError);
  });
});

describe('initial: boot is not a rotation', () => {
  test('keys.changed and key.firstUsed carry initial: true for the first set, false after a rotation', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const idp = new FakeIdp(k1);
    const { keys, clock } = setup(idp);
    const changed: JwksEvents['keys.changed'][] = [];
    const used: JwksEvents['key.firstUsed'][] = [];
    keys.on('keys.changed', (e) => changed.push(e));
    keys.on('key.firstUsed', (e) => used.push(e));
    const v = createVerifier({ issuer: ISS, audience: AUD, keys, clock });
    const now = () => Math.floor(clock.wallNow() / 1000);
    await v.verify(await mint(k1, { nowSec: now() }));
    idp.add(k2);
    await keys.refresh();
    await v.verify(await mint(k2, { nowSec: now() }));
    assert.deepEqual(
      changed.map((e) => [e.generation, e.initial]),
      [
        [1, true],
        [2, false],
      ],
    );
    assert.deepEqual(
      used.map((e) => [e.kid, e.initial]),
      [
        ['k1', true],
        ['k2', false],
      ],
    );
    await keys.close();
  });
});
