/**
 * `jwks-keeper demo`. From a source checkout (examples/demo.ts and tsx present) it runs the
 * full side-by-side demo (`npm run demo`: jwks-keeper, jose and jwks-rsa in their own
 * processes). From an installed package, or with `--builtin`, it tells a shorter story in
 * process with jwks-keeper alone: a local IdP, an announced rotation, a flood of random kids,
 * an emergency rotation during the flood, an IdP outage. A few seconds, fully offline.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { createJwksCache, createVerifier } from '../index.js';
import type { Io } from './output.js';
import { COMMON_OPTIONS, EXIT, UsageError, painter, parse } from './output.js';

/** `jwks-keeper demo --help`. */
export const DEMO_HELP = `Usage: jwks-keeper demo [--builtin] [--no-color]

From a source checkout, runs the full demo (the same as 'npm run demo': three libraries side
by side, one minute). Otherwise, or with --builtin, a short offline story with jwks-keeper
alone: rotation, an unknown-kid flood, an emergency rotation, an IdP outage (a few seconds).

Options:
  --builtin      The short in-process story even in a checkout
  --json         The built-in story's summary as JSON
  --no-color     No colours
  -h, --help     This help

Exit codes: 0 the story ran and no forged token was accepted, 1 otherwise.
`;

interface DemoKey {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function newKey(kid: string): DemoKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } };
}

const ISSUER = 'https://demo.jwks-keeper.test/';
const AUDIENCE = 'api://demo';

/** Run the demo (full from a checkout, built-in otherwise); resolves with the exit code. */
export async function demoCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON_OPTIONS, builtin: { type: 'boolean' } });
  if (values.help) {
    io.out(DEMO_HELP);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]!.slice(0, 40)}'`);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const full = `${root}examples/demo.ts`;
  if (!values.builtin && !values.json && existsSync(full) && existsSync(`${root}node_modules/tsx`)) {
    const child = spawn(process.execPath, ['--import', 'tsx', full], { cwd: root, stdio: 'inherit', env: { ...process.env, ...(values['no-color'] ? { NO_COLOR: '1' } : {}) } });
    return new Promise((resolve) => child.on('exit', (c) => resolve(c ?? EXIT.FAILED)));
  }
  return builtinStory(io, painter(io.color && !values['no-color']), values.json === true);
}

async function builtinStory(io: Io, p: ReturnType<typeof painter>, json: boolean): Promise<number> {
  const say = (s: string): void => {
    if (!json) io.out(`${s}\n`);
  };
  const k1 = newKey('k1');
  const k2 = newKey('k2');
  const k3 = newKey('k3');
  const attacker = newKey('attacker');
  let published: DemoKey[] = [k1];
  let outage = false;
  let idpRequests = 0;
  const server = createServer((req, res) => {
    idpRequests++;
    if (outage) return void res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=1' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const jwksUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  const cache = createJwksCache({ jwksUri, minRefreshIntervalMs: 0, backoffInitialMs: 200, unknownKid: { cooldownMs: 1_000 } });
  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: cache });
  cache.on('keys.changed', (e) => say(`  ${p.cyan('event')} keys.changed: added [${e.added.join(', ')}] removed [${e.removed.join(', ')}] (generation ${e.generation})`));
  cache.on('key.firstUsed', (e) => say(`  ${p.cyan('event')} key.firstUsed: ${e.kid} signed its first token`));
  cache.on('refresh.failed', (e) => say(`  ${p.cyan('event')} refresh.failed: ${e.code}${e.status ? ` (HTTP ${e.status})` : ''}, next attempt in ${Math.round(e.nextAttemptInMs)} ms`));
  cache.on('keys.staleServed', (e) => say(`  ${p.cyan('event')} keys.staleServed: last good keys, stale for ${Math.round(e.staleForMs)} ms`));
  const mint = (k: DemoKey) =>
    new SignJWT({ sub: 'demo-user' }).setProtectedHeader({ alg: 'ES256', kid: k.kid }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(k.privateKey);
  const tally = { accepted: 0, rejected: 0, unavailable: 0, forgedAccepted: 0 };
  const verifyAll = async (tokens: string[], forged: boolean) => {
    await Promise.all(
      tokens.map((t) =>
        verifier.verify(t).then(
          () => {
            tally.accepted++;
            if (forged) tally.forgedAccepted++;
          },
          (err: { httpStatus?: number }) => {
            if (err.httpStatus === 503) tally.unavailable++;
            else tally.rejected++;
          },
        ),
      ),
    );
  };
  const phases: Record<string, unknown>[] = [];
  const phase = async (title: string, run: () => Promise<void>) => {
    const before = { ...tally, idp: idpRequests };
    say(p.bold(title));
    await run();
    const d = { phase: title, accepted: tally.accepted - before.accepted, rejected: tally.rejected - before.rejected, unavailable: tally.unavailable - before.unavailable, idpRequests: idpRequests - before.idp };
    phases.push(d);
    say(`  ${p.green(`${d.accepted} accepted`)}, ${d.rejected} rejected, ${d.unavailable} unavailable; ${d.idpRequests} IdP request(s)`);
  };
  try {
    say(`${p.bold('jwks-keeper demo')} ${p.dim('(built-in story: jwks-keeper alone, in process, offline)')}`);
    await phase('1. normal traffic: 50 tokens signed by k1', async () => verifyAll(await Promise.all(Array.from({ length: 50 }, () => mint(k1))), false));
    await phase('2. announced rotation: the IdP publishes k2 next to k1, then signs with k2', async () => {
      published = [k1, k2];
      await cache.refresh();
      await verifyAll(await Promise.all(Array.from({ length: 50 }, () => mint(k2))), false);
    });
    await phase('3. flood: 2 000 forged tokens with random kids', async () => {
      const forged = await Promise.all(Array.from({ length: 2_000 }, () => mint({ ...attacker, kid: randomUUID() })));
      await verifyAll(forged, true);
    });
    await phase('4. emergency rotation during a flood: k3 replaces everything, tokens arrive at once', async () => {
      published = [k3];
      const forged = await Promise.all(Array.from({ length: 500 }, () => mint({ ...attacker, kid: randomUUID() })));
      await Promise.all([verifyAll(await Promise.all(Array.from({ length: 50 }, () => mint(k3))), false), verifyAll(forged, true)]);
    });
    await phase('5. IdP outage: every request answers 503; the last good keys keep verifying', async () => {
      outage = true;
      await new Promise((r) => setTimeout(r, 1_200)); // let the 1 s freshness run out
      await cache.refresh();
      await verifyAll(await Promise.all(Array.from({ length: 50 }, () => mint(k3))), false);
    });
    const ok = tally.forgedAccepted === 0;
    if (json) io.out(`${JSON.stringify({ phases, total: { ...tally, idpRequests }, ok }, null, 2)}\n`);
    else say(`${p.bold('summary')}: ${tally.accepted} accepted, ${tally.rejected} rejected, ${tally.unavailable} unavailable, ${idpRequests} IdP requests in all; forged tokens accepted: ${ok ? p.green('0') : p.red(String(tally.forgedAccepted))}`);
    return ok ? EXIT.OK : EXIT.FAILED;
  } finally {
    await cache.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
