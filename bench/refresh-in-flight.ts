/**
 * Verification of a cached kid while a refresh hangs (threats.md R4/R5): a measurement, not a
 * test. The adversarial suite proves the property by ordering (test/adversarial/faults.test.ts,
 * "R4/R5": every verification settles while nothing can release the hanging refresh); this
 * script measures what the hanging refresh costs, as ratios within one run:
 *
 *   faulted / baseline   median time of N sequential verifications of a cached kid with the
 *                        refresh in flight, over the same with nothing in flight (same cache);
 *   baseline / crypto    the jwks-keeper baseline over raw `node:crypto` verify of the same
 *                        token (the peer every hot-path number here is relative to).
 *
 * Faults: slow headers (the server accepts and never answers), a body dripped one byte per
 * second, an endless chunked body (a chunk every millisecond), a DNS lookup hanging forever
 * and deaf to abort (through the fetch seam). Loopback only.
 *
 *   node --import tsx bench/refresh-in-flight.ts [--n 200] [--rounds 5]
 *
 * Ratios, not milliseconds, are what to compare across machines; expect noise on a loaded one.
 */
import { generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createJwksCache, createVerifier } from '../src/index.js';
import type { FetchLike, JwksCache, Verifier } from '../src/index.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} needs a positive integer`);
  return v;
};
const N = arg('n', 200);
const ROUNDS = arg('rounds', 5);

const ISS = 'https://idp.bench.example/';
const AUD = 'api://bench';
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowSec = Math.floor(Date.now() / 1000);
const signingInput = `${b64({ alg: 'ES256', kid: 'k1', typ: 'JWT' })}.${b64({ iss: ISS, aud: AUD, sub: 'u', iat: nowSec, exp: nowSec + 3600 })}`;
const signature = cryptoSign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
const TOKEN = `${signingInput}.${signature.toString('base64url')}`;

type Mode = 'jwks' | 'hang' | 'drip' | 'endless';
let mode: Mode = 'jwks';
const sockets = new Set<Socket>();
const timers = new Set<ReturnType<typeof setInterval>>();
const body = JSON.stringify({ keys: [jwk] });
const server = createServer((_req, res: ServerResponse) => {
  if (mode === 'jwks') {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
    res.end(body);
  } else if (mode === 'drip' || mode === 'endless') {
    res.writeHead(200, { 'content-type': 'application/json', ...(mode === 'drip' ? { 'content-length': String(body.length) } : {}) });
    let i = 0;
    const t = setInterval(
      () => {
        if (res.destroyed) return clearInterval(t);
        res.write(mode === 'drip' ? body.slice(i, ++i) : ' ');
      },
      mode === 'drip' ? 1_000 : 1,
    );
    timers.add(t);
  } // 'hang': accept, never answer
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;

/** A fetch whose name lookup can hang forever, ignoring the abort signal. */
let dnsHang = false;
const hanging: (() => void)[] = [];
const dnsFetch: FetchLike = (input, init) =>
  dnsHang ? new Promise<Response>((_r, reject) => hanging.push(() => reject(new Error('released')))) : fetch(input, init);

async function timeRun(f: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await f();
  return performance.now() - t0;
}
async function median(f: () => Promise<unknown> | unknown): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) runs.push(await timeRun(f));
  runs.sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)]!;
}

const rawCrypto = () => cryptoVerify('sha256', Buffer.from(signingInput), { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);

async function scenario(label: string, arm: () => void, viaDns = false): Promise<string> {
  mode = 'jwks';
  dnsHang = false;
  // a deadline far beyond the measurement: the refresh stays in flight the whole time
  const cache: JwksCache = createJwksCache({ jwksUri: url, timeoutMs: 120_000, ...(viaDns ? { fetch: dnsFetch } : {}) });
  const verifier: Verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache });
  await cache.ready();
  const verify = () => verifier.verify(TOKEN);
  await timeRun(verify); // warm up
  const crypto = await median(rawCrypto);
  const baseline = await median(verify);
  arm();
  let settled = false;
  void cache.refresh().then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 50)); // let the request go out (a benchmark may wait in real time)
  const faulted = await median(verify);
  const inFlight = !settled;
  await cache.close();
  for (const release of hanging.splice(0)) release();
  const fmt = (x: number) => x.toFixed(2);
  return `| ${label} | ${fmt(faulted / baseline)} | ${fmt(baseline / crypto)} | ${fmt((baseline / N) * 1000)} µs | ${inFlight ? 'yes' : 'NO (result invalid)'} |`;
}

const rows = [
  await scenario('slow headers', () => (mode = 'hang')),
  await scenario('1 byte/s body', () => (mode = 'drip')),
  await scenario('endless chunked body (1 ms)', () => (mode = 'endless')),
  await scenario('DNS lookup hanging, deaf to abort', () => (dnsHang = true), true),
];
console.log(`verification of a cached kid (ES256) while a refresh hangs: median of ${ROUNDS} × ${N} sequential verifications, Node ${process.version}\n`);
console.log('| refresh in flight | faulted / baseline | baseline / node:crypto | baseline per verification | refresh still in flight |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);

for (const t of timers) clearInterval(t);
for (const s of sockets) s.destroy();
await new Promise<void>((resolve) => server.close(() => resolve()));
