/**
 * The shared-store contract suite: run it against any {@link SharedStore} implementation
 * (Redis, a database row, your own) in your test runner. It takes the runner's `test` and an
 * assertion module so it depends on neither:
 *
 *     import { test } from 'node:test';
 *     import assert from 'node:assert/strict';
 *     import { runSharedStoreContract } from 'jwks-keeper/testing';
 *     runSharedStoreContract('my store', () => myStore(), { test, assert });
 *
 * Each case gets a fresh store from `makeStore` and a fresh key prefix; a store with `close`
 * is closed after each case. Optional capabilities (`lock`, `subscribe`) are checked when
 * present. No case sleeps or measures time.
 */
import type { SharedStore } from '../store/contract.js';

/** The assertions the suite uses (a subset of `node:assert/strict`). */
export interface ContractAssert {
  equal(actual: unknown, expected: unknown, message?: string): void;
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  ok(value: unknown, message?: string): void;
}

/** A test-runner `test` function (`node:test`, vitest, jest...): a name and an async body. */
export type ContractTest = (name: string, fn: () => Promise<void>) => unknown;

let run = 0;

/**
 * Register the contract's cases under `name` with `test`.
 * @param makeStore - a fresh (or freshly cleared) store per case
 */
export function runSharedStoreContract(name: string, makeStore: () => SharedStore | Promise<SharedStore>, t: { test: ContractTest; assert: ContractAssert }): void {
  const { test, assert } = t;
  const prefix = `contract:${Date.now().toString(36)}:${(run++).toString(36)}:`;
  let n = 0;
  const each = (title: string, body: (store: SharedStore, key: (s: string) => string) => Promise<void>): void => {
    test(`${name}: ${title}`, async () => {
      const store = await makeStore();
      const base = `${prefix}${n++}:`;
      try {
        await body(store, (s) => base + s);
      } finally {
        await store.close?.();
      }
    });
  };

  each('get of a key never written is undefined', async (store, key) => {
    assert.equal(await store.get(key('none')), undefined);
  });

  each('setIfNewer on an empty key writes; get returns the version and the exact value', async (store, key) => {
    const value = `{"format":"x","body":"é\\u0000${'z'.repeat(1000)}"}`;
    assert.equal(await store.setIfNewer(key('a'), 1_700_000_000_123, value), true);
    assert.deepEqual(await store.get(key('a')), { version: 1_700_000_000_123, value });
  });

  each('an older or equal version is refused and leaves the record unchanged; a newer one replaces it', async (store, key) => {
    assert.equal(await store.setIfNewer(key('a'), 10, 'ten'), true);
    assert.equal(await store.setIfNewer(key('a'), 9, 'nine'), false);
    assert.equal(await store.setIfNewer(key('a'), 10, 'ten again'), false);
    assert.deepEqual(await store.get(key('a')), { version: 10, value: 'ten' });
    assert.equal(await store.setIfNewer(key('a'), 11, 'eleven'), true);
    assert.deepEqual(await store.get(key('a')), { version: 11, value: 'eleven' });
  });

  each('keys are independent', async (store, key) => {
    await store.setIfNewer(key('a'), 5, 'a5');
    await store.setIfNewer(key('b'), 3, 'b3');
    assert.deepEqual(await store.get(key('a')), { version: 5, value: 'a5' });
    assert.deepEqual(await store.get(key('b')), { version: 3, value: 'b3' });
  });

  each('concurrent setIfNewer: the greatest version wins, and exactly the writes that won say true', async (store, key) => {
    const versions = [7, 3, 19, 11, 2, 19, 5, 13, 17, 1, 8, 16];
    const results = await Promise.all(versions.map((v, i) => store.setIfNewer(key('c'), v, `v${v}#${i}`)));
    const final = await store.get(key('c'));
    assert.equal(final?.version, 19);
    assert.ok(results.some((r) => r), 'some write succeeded');
    assert.equal(results.filter((r, i) => r && versions[i] === 19).length, 1, 'one of the two writes of 19 won');
    assert.ok(final?.value === 'v19#2' || final?.value === 'v19#5');
  });

  each('a large value (1 MiB) round-trips', async (store, key) => {
    const value = 'x'.repeat(1024 * 1024);
    assert.equal(await store.setIfNewer(key('big'), 1, value), true);
    assert.equal((await store.get(key('big')))?.value.length, value.length);
  });

  each('lock (optional): one holder at a time per key; release lets another take it', async (store, key) => {
    if (!store.lock) return;
    const a = await store.lock(key('l'), 30_000);
    assert.ok(a, 'first lock taken');
    assert.equal(await store.lock(key('l'), 30_000), undefined, 'second lock refused while held');
    const other = await store.lock(key('other'), 30_000);
    assert.ok(other, 'another key is independent');
    await a!.release();
    const b = await store.lock(key('l'), 30_000);
    assert.ok(b, 'taken again after release');
    await b!.release();
    await other!.release();
  });

  each('subscribe (optional): told of versions written under the key, not of other keys; unsubscribe stops it', async (store, key) => {
    if (!store.subscribe) return;
    const seen: number[] = [];
    let wake: () => void = () => {};
    const unsubscribe = await store.subscribe(key('s'), (v) => {
      seen.push(v);
      wake();
    });
    const told = new Promise<void>((r) => (wake = r));
    await store.setIfNewer(key('other'), 1, 'x');
    await store.setIfNewer(key('s'), 42, 'y');
    await told;
    assert.ok(seen.includes(42), `notified of 42 (saw ${JSON.stringify(seen)})`);
    assert.ok(!seen.includes(1), 'not notified of another key');
    await unsubscribe();
  });
}
