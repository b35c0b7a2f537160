/**
 * Measurement (not a test, not part of `npm test`): 10 000 `GET /events` connection attempts
 * against the built sidecar running as a child process with `--max-sse-clients 50`, in waves
 * of 500 concurrent attempts. Prints the sidecar's RSS before and after (from /proc), the
 * answers counted by status, and whether /healthz still answers. Linux only.
 *
 *   npm run build && node --import tsx test/sidecar/sse-flood.measure.ts
 */
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey } from '../helpers/keys.js';
import { OidcIdp, Proc } from '../cli/helpers.js';
import { send } from './helpers.js';

const TOTAL = Number(process.env.ATTEMPTS ?? 10_000);
const WAVE = 500;
const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const idp = await new OidcIdp(new FakeIdp(makeKey('k1'))).start();
const p = new Proc(['serve', '--issuer', idp.base, '--jwks-url', idp.jwksUrl, '--port', '0', '--max-sse-clients', '50']);
const url = String((await p.waitForJson('listening')).url);
await p.waitForJson('keys loaded');
const before = rssMiB(p.child.pid!);
const counts = new Map<string, number>();
const open: import('node:http').ClientRequest[] = [];
let peak = before;
for (let done = 0; done < TOTAL; done += WAVE) {
  await Promise.all(
    Array.from({ length: Math.min(WAVE, TOTAL - done) }, () =>
      new Promise<void>((resolve) => {
        const req = get(`${url}/events`, { agent: false }, (res) => {
          const k = String(res.statusCode);
          counts.set(k, (counts.get(k) ?? 0) + 1);
          if (res.statusCode === 200) open.push(req); // keep the admitted streams open
          else res.resume();
          resolve();
        });
        req.on('error', (e: NodeJS.ErrnoException) => {
          counts.set(e.code ?? 'error', (counts.get(e.code ?? 'error') ?? 0) + 1);
          resolve();
        });
      }),
    ),
  );
  peak = Math.max(peak, rssMiB(p.child.pid!));
}
const health = await send(`${url}/healthz`);
const after = rssMiB(p.child.pid!);
console.log(JSON.stringify({ attempts: TOTAL, answers: Object.fromEntries(counts), openStreams: open.length, healthz: health.status, rssMiB: { before: +before.toFixed(1), peak: +peak.toFixed(1), after: +after.toFixed(1) } }));
for (const r of open) r.destroy();
p.kill('SIGTERM');
console.log('exit', await p.exited);
await idp.stop();
