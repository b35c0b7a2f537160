/**
 * Child of lifecycle.test.ts: a cache over real timers and a real loopback HTTP server, with
 * persistence, waiters and a fetch in flight; prints the process's active resources before
 * the cache exists, while it runs, and after close() (the server is closed first). Its
 * scheduler uses real timers that are not unref'd, so every live timer is listed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createJwksCache } from '../../../src/index.js';
import { makeKey } from '../../helpers/keys.js';

/** Real timers, NOT unref'd, so each live one shows in getActiveResourcesInfo() as a 'Timeout'. */
const scheduler = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown): void => clearTimeout(h as ReturnType<typeof setTimeout>),
};
const snapshot = () => process.getActiveResourcesInfo().filter((x) => x !== 'TTYWrap').sort();
const before = snapshot();
const k1 = makeKey('k1');
let hang = false;
let sawHungRequest!: () => void;
const hungRequest = new Promise<void>((r) => (sawHungRequest = r));
const server = createServer((req, res) => {
  if (hang) return sawHungRequest(); // never answers: a fetch stays in flight
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600', connection: 'close' });
  res.end(JSON.stringify({ keys: [k1.jwk] }));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as AddressInfo).port;
let saved: string | undefined;
const store = {
  load: async () => saved,
  save: async (r: string) => {
    saved = r;
  },
};
const cache = createJwksCache({ jwksUri: `http://127.0.0.1:${port}/jwks`, timeoutMs: 30_000, scheduler, persistence: { store, secret: 'child-secret-0123456789abcdef-0123456789' } });
await cache.ready();
hang = true;
const pending = [cache.getSigningKey('ghost').catch(() => undefined), cache.refresh().catch(() => undefined)];
await hungRequest;
const during = snapshot();
await cache.close();
await Promise.all(pending);
server.closeAllConnections();
await new Promise<void>((r) => server.close(() => r()));
// let the event loop process the sockets' close events (no sleeping: yield to I/O only)
for (let i = 0; i < 10_000 && snapshot().includes('TCPSocketWrap'); i++) await new Promise((r) => setImmediate(r));
const after = snapshot();
console.log(JSON.stringify({ before, during, after }));
