/**
 * Multi-process fleet tests: child processes, real sockets, a fake IdP counting requests.
 * The baseline first: N independent caches cost the IdP N requests per refresh window.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { makeKey, mint } from '../helpers/keys.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SECRET, until } from './fixture.js';
import { initAll, quantile, spawnInstances, startFleet, stopFleet, type Instance } from './fleet-harness.js';
import type { InstanceConfig } from './instance.js';

let server: RedisServer;
let prefixSeq = 0;

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  await server?.stop();
});

function config(idp: HttpIdp, mode: InstanceConfig['mode'], extra: Partial<InstanceConfig['cacheOptions']> = {}) {
  const keyPrefix = `mp${++prefixSeq}:`;
  return (index: number): InstanceConfig => ({
    index,
    jwksUri: idp.url,
    mode,
    redisSocket: server.socketPath,
    keyPrefix,
    secret: SECRET,
    cacheOptions: { allowInsecureHttp: true, ...extra },
  });
}

describe('independent caches (the baseline fleet mode improves on)', () => {
  test('N = 3 independent instances: 3 upstream requests for the first load and 3 per refresh window', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const http = await new HttpIdp(idp).start();
    let fleet: Instance[] = [];
    try {
      fleet = await startFleet(3, config(http, 'independent'));
      assert.equal(idp.requests, 3);
      await Promise.all(fleet.map((i) => i.refresh()));
      assert.equal(idp.requests, 6);
      const token = await mint(k1);
      for (const i of fleet) assert.equal((await i.verify([token])).ok, 1);
    } finally {
      await stopFleet(fleet);
      await http.stop();
    }
  });
});


describe('fleet mode: N instances in N processes, one Redis, one IdP', () => {
  let pool: Instance[] = [];
  before(() => {
    pool = spawnInstances(8);
  });
  after(async () => {
    await stopFleet(pool);
  });

  for (const n of [1, 2, 4, 8]) {
    test(`N = ${n}: 1 upstream request for the first load and 1 per refresh window, for the whole fleet`, async () => {
      const k1 = makeKey('k1');
      const idp = new FakeIdp(k1);
      const http = await new HttpIdp(idp).start();
      try {
        const fleet = pool.slice(0, n);
        await initAll(fleet, config(http, 'fleet'));
        assert.equal(idp.requests, 1, 'first load');
        const perWindow: number[] = [];
        for (let w = 0; w < 3; w++) {
          const before = idp.requests;
          const results = await Promise.all(fleet.map((i) => i.refresh()));
          for (const r of results) assert.equal(r.ok, true);
          perWindow.push(idp.requests - before);
        }
        assert.deepEqual(perWindow, [1, 1, 1]);
        const token = await mint(k1);
        for (const i of fleet) assert.equal((await i.verify([token])).ok, 1);
        const stats = await Promise.all(fleet.map((i) => i.stats()));
        const f = stats.map((s) => s.stats.fleet as { lockWins: number; lockWaits: number; sharedHits: number });
        assert.equal(f.reduce((a, x) => a + x.lockWins, 0), 4, 'one lock win per load of the fleet');
        console.log(`N=${n}: first load 1, per window ${perWindow.join('/')}; lock wins ${f.map((x) => x.lockWins).join(',')}, waits ${f.map((x) => x.lockWaits).join(',')}, shared hits ${f.map((x) => x.sharedHits).join(',')}`);
      } finally {
        await http.stop();
      }
    });
  }

  test('scheduled refreshes (max-age=1): the fleet sends about one request per window, independent caches one per instance', async () => {
    const k1 = makeKey('k1');
    const run = async (mode: InstanceConfig['mode']) => {
      const idp = new FakeIdp(k1);
      idp.cacheControl = 'max-age=1';
      const http = await new HttpIdp(idp).start();
      try {
        const fleet = pool.slice(0, 4);
        await initAll(fleet, config(http, mode, { minRefreshIntervalMs: 1_000, unknownKid: { cooldownMs: 200, maxWaitMs: 200 } }));
        const before = idp.requests;
        const t0 = Date.now();
        // windows pass on their own: wait for the IdP to have seen 4 scheduled windows' worth
        await until(() => Date.now() - t0 >= 4_000, 'four seconds of scheduled refreshes', 10_000);
        const requests = idp.requests - before;
        const token = await mint(k1);
        for (const i of fleet) assert.equal((await i.verify([token])).ok, 1);
        return { requests, elapsed: Date.now() - t0 };
      } finally {
        await http.stop();
      }
    };
    const fleet = await run('fleet');
    const independent = await run('independent');
    // a window is 75-90 % of the 1 s freshness: at most elapsed / 750 ms windows
    const windows = (ms: number) => Math.ceil(ms / 750);
    console.log(`scheduled windows over ~4 s, 4 instances: fleet ${fleet.requests} requests (≤ ${windows(fleet.elapsed)} windows), independent ${independent.requests}`);
    assert.ok(fleet.requests <= windows(fleet.elapsed), `fleet ${fleet.requests}`);
    assert.ok(independent.requests > windows(independent.elapsed), 'independent caches refresh once per instance per window');
  });

  test('a random-kid flood on all 8 instances: fleet-wide upstream attempts within ONE budget (independent caches: 8)', async () => {
    const k1 = makeKey('k1');
    const budget = { burst: 2, cooldownMs: 1_000, maxWaitMs: 1_000 };
    const run = async (mode: InstanceConfig['mode']) => {
      const idp = new FakeIdp(k1);
      const http = await new HttpIdp(idp).start();
      try {
        await initAll(pool, config(http, mode, { unknownKid: budget }));
        const before = idp.requests;
        const t0 = Date.now();
        const [floods, valid] = await Promise.all([Promise.all(pool.map((i) => i.flood(200, 32))), Promise.all(pool.map(async (i) => i.verify(await Promise.all(Array.from({ length: 20 }, () => mint(k1))))))]);
        const elapsed = Date.now() - t0;
        const attempts = idp.requests - before;
        const accepted = floods.reduce((a, f) => a + f.ok, 0);
        const validRejected = valid.reduce((a, v) => a + (20 - v.ok), 0);
        return { attempts, elapsed, accepted, validRejected };
      } finally {
        await http.stop();
      }
    };
    const fleet = await run('fleet');
    const independent = await run('independent');
    const oneBudget = (ms: number) => budget.burst + Math.ceil(ms / budget.cooldownMs);
    console.log(`flood 8 × 200 random kids: fleet ${fleet.attempts} upstream attempts in ${fleet.elapsed} ms (one budget: ${oneBudget(fleet.elapsed)}); independent ${independent.attempts} in ${independent.elapsed} ms (8 budgets: ${8 * oneBudget(independent.elapsed)})`);
    assert.equal(fleet.accepted, 0);
    assert.equal(independent.accepted, 0);
    assert.equal(fleet.validRejected, 0);
    assert.ok(fleet.attempts <= oneBudget(fleet.elapsed), `fleet attempts ${fleet.attempts}`);
    assert.ok(independent.attempts > oneBudget(independent.elapsed), 'independent caches spend more than one budget (the baseline)');
  });

  test('an emergency rotation during the flood: 0 valid tokens rejected on any instance; the removed key is refused everywhere', async () => {
    const oldKey = makeKey('old');
    const newKey = makeKey('new');
    const idp = new FakeIdp(oldKey);
    const http = await new HttpIdp(idp).start();
    try {
      await initAll(pool, config(http, 'fleet', { unknownKid: { burst: 2, cooldownMs: 1_000, maxWaitMs: 1_000 } }));
      const flooding = Promise.all(pool.map((i) => i.flood(600, 32)));
      idp.publish(newKey); // the old key is compromised: removed at once
      const tokens = await Promise.all(Array.from({ length: 20 }, () => mint(newKey)));
      const results = await Promise.all(pool.map((i) => i.verify(tokens)));
      await flooding;
      for (const [index, r] of results.entries()) assert.equal(r.ok, 20, `instance ${index}: ${JSON.stringify(r)}`);
      const old = await mint(oldKey);
      for (const i of pool) {
        const r = await i.verify([old]);
        assert.equal(r.ok, 0, 'the removed key no longer verifies');
      }
    } finally {
      await http.stop();
    }
  });

  test('rotation broadcast: every instance installs the record another one fetched (latency printed, not asserted)', async () => {
    const keys = [makeKey('r0')];
    const idp = new FakeIdp(keys[0]!);
    const http = await new HttpIdp(idp).start();
    try {
      await initAll(pool, config(http, 'fleet'));
      const latencies: number[] = [];
      const rounds = 20;
      for (let r = 1; r <= rounds; r++) {
        const k = makeKey(`r${r}`);
        idp.publish(k);
        const before = idp.requests;
        const generations = await Promise.all(pool.map((i) => i.stats().then((s) => s.stats.generation as number)));
        const installs = pool.map((i, idx) => i.installed(generations[idx]! + 1));
        await pool[r % pool.length]!.refresh();
        const events = await Promise.all(installs);
        assert.equal(idp.requests - before, 1, 'only the refreshing instance fetched');
        const first = Math.min(...events.map((e) => e.at));
        latencies.push(Math.max(...events.map((e) => e.at)) - first);
        const token = await mint(k);
        for (const i of pool) assert.equal((await i.verify([token])).ok, 1);
      }
      console.log(`broadcast latency (first install → last of 8 instances) over ${rounds} rotations: p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms`);
    } finally {
      await http.stop();
    }
  });
});
