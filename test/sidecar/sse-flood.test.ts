/**
 * 10 000 `GET /events` connection attempts against the built sidecar (a child process with
 * `--max-sse-clients 50`), in waves of 500 concurrent attempts, with a `/healthz` request
 * inside every wave.
 *
 * Bounded memory is shown two ways:
 * - the child runs with its old generation capped at 24 MiB (`--max-old-space-size`). Anything
 *   kept per attempt (2 KiB each would be 20 MiB) makes it die of heap exhaustion, and the
 *   test sees it;
 * - on Linux, the child's peak RSS grows by less than 48 MiB (measured: about 9 MiB).
 *
 * `SSE_FLOOD_ATTEMPTS=30000 npm test -- sse-flood` runs a larger flood.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import type { ClientRequest } from 'node:http';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey } from '../helpers/keys.js';
import { OidcIdp, Proc, buildOnce } from '../cli/helpers.js';
import { send } from './helpers.js';

const TOTAL = Number(process.env.SSE_FLOOD_ATTEMPTS ?? 10_000);
const WAVE = 500;
const CAP = 50;
const HEAP_CAP_MIB = 24;
const RSS_GROWTH_LIMIT_MIB = 48;

const rssMiB = (pid: number): number | undefined => {
  const file = `/proc/${pid}/status`;
  if (!existsSync(file)) return undefined;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(file, 'utf8'));
  return m ? Number(m[1]) / 1024 : undefined;
};

let idp: OidcIdp | undefined;
let proc: Proc | undefined;
const open: ClientRequest[] = [];
before(() => buildOnce());
after(async () => {
  for (const r of open) r.destroy();
  proc?.kill('SIGKILL');
  await idp?.stop();
});

/** One attempt: its status (or the socket error's code). A 200 stream is kept open. */
function attempt(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = get(`${url}/events`, { agent: false }, (res) => {
      if (res.statusCode === 200) open.push(req);
      else {
        assert.ok(res.headers['retry-after'], 'a refused stream says when to come back');
        res.resume();
      }
      resolve(String(res.statusCode));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

test(`${TOTAL} SSE connection attempts with the cap at ${CAP}: ${CAP} streams, the rest 503, bounded memory, /healthz answers throughout, SIGTERM exits 0`, async () => {
  idp = await new OidcIdp(new FakeIdp(makeKey('k1'))).start();
  const p = (proc = new Proc(['serve', '--issuer', idp.base, '--jwks-url', idp.jwksUrl, '--port', '0', '--max-sse-clients', String(CAP)], { NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MIB}` }));
  const url = String((await p.waitForJson('listening')).url);
  await p.waitForJson('keys loaded');
  const pid = p.child.pid!;
  const rssBefore = rssMiB(pid);
  let rssPeak = rssBefore;
  const counts = new Map<string, number>();
  let exited = false;
  void p.exited.then(() => (exited = true));
  for (let done = 0; done < TOTAL; done += WAVE) {
    const n = Math.min(WAVE, TOTAL - done);
    const [health, ...answers] = await Promise.all([send(`${url}/healthz`).then((r) => r.status, (e: NodeJS.ErrnoException) => e.code ?? 'error'), ...Array.from({ length: n }, () => attempt(url))]);
    for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
    assert.equal(exited, false, `the sidecar died after ${done + n} attempts; stderr: ${p.stderr.slice(-2000)}`);
    assert.equal(health, 200, `/healthz answers during wave ${done / WAVE + 1}`);
    const rss = rssMiB(pid);
    if (rss !== undefined && rssPeak !== undefined) rssPeak = Math.max(rssPeak, rss);
  }
  assert.deepEqual(Object.fromEntries(counts), { '200': CAP, '503': TOTAL - CAP }, 'every attempt is answered: the cap, then 503');
  assert.equal(open.length, CAP);
  assert.match((await send(`${url}/metrics`)).text, new RegExp(`^jwks_keeper_sidecar_sse_clients ${CAP}$`, 'm'));
  assert.equal((await send(`${url}/readyz`)).status, 200);
  assert.equal((await send(`${url}/issuers/default/jwks.json`)).status, 200, 'the mirror still serves');
  if (rssBefore !== undefined && rssPeak !== undefined) {
    console.log(`sse-flood: ${TOTAL} attempts, RSS ${rssBefore.toFixed(1)} MiB before, ${rssPeak.toFixed(1)} MiB at peak`);
    assert.ok(rssPeak - rssBefore < RSS_GROWTH_LIMIT_MIB, `RSS grew by ${(rssPeak - rssBefore).toFixed(1)} MiB`);
  }
  p.kill('SIGTERM');
  assert.deepEqual(await p.exited, { code: 0, signal: null });
});
