/**
 * The built `jwks-keeper` binary, run as a user would (child processes), against an IdP on
 * 127.0.0.1: each command's human and --json output, exit codes, --help, bad arguments.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey, mint } from '../helpers/keys.js';
import type { SigningKey } from '../helpers/keys.js';
import { OidcIdp, Proc, buildOnce, run } from './helpers.js';

const servers: OidcIdp[] = [];
const procs: Proc[] = [];
before(() => buildOnce());
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  for (const s of servers) await s.stop();
});

async function idpWith(...keys: SigningKey[]): Promise<OidcIdp> {
  const s = await new OidcIdp(new FakeIdp(...keys)).start();
  servers.push(s);
  return s;
}

const k1 = makeKey('k1', 'RS256');
const k2 = makeKey('k2', 'ES256');

function rsa1024(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return { kid, alg: 'RS256', privateKey, publicKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

test('--help for the program and every command; exit 0', async () => {
  const top = await run(['--help']);
  assert.equal(top.code, 0);
  for (const c of ['inspect', 'verify', 'watch', 'demo', 'serve']) assert.match(top.stdout, new RegExp(`\\n  ${c} `));
  assert.match(top.stdout, /Exit codes/);
  for (const c of ['inspect', 'verify', 'watch', 'demo', 'serve']) {
    const r = await run([c, '--help']);
    assert.equal(r.code, 0, c);
    assert.match(r.stdout, new RegExp(`^Usage: jwks-keeper ${c}`), c);
    assert.match(r.stdout, /Exit codes/, c);
  }
  const v = await run(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
});

test('bad arguments: a clear message on stderr, a pointer to --help, exit 2', async () => {
  const cases: [string[], RegExp][] = [
    [[], /Usage: jwks-keeper <command>/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['inspect'], /an issuer or JWKS URL is required/],
    [['inspect', 'not a url'], /not a valid URL/],
    [['inspect', 'ftp://x.test/jwks.json'], /must be an https URL/],
    [['inspect', 'http://idp.example.com/jwks.json'], /must use https/],
    [['inspect', 'https://x.test/', '--bogus'], /Unknown option '--bogus'/],
    [['verify', 'a.b.c', '--audience', 'api'], /--issuer is required/],
    [['verify', 'a.b.c', '--issuer', 'https://x.test/'], /--audience is required/],
    [['verify', '--issuer', 'https://x.test/', '--audience', 'a'], /a token/],
    [['watch', 'https://x.test/jwks.json', '--duration', 'soon'], /--duration must be a positive number/],
    [['watch', 'https://x.test/jwks.json', '--timeout-ms', '-5'], /timeout-ms/],
    [['demo', 'extra'], /unexpected argument/],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
    if (args.length > 0 && args[0] !== 'frobnicate') assert.match(r.stderr, /--help/);
  }
});

test('inspect <issuer>: discovery, keys with verdicts, headers, freshness, 304, warnings (human)', async () => {
  const noAlg = makeKey('k-noalg', 'ES256', { withAlg: false });
  const s = await idpWith(k1, noAlg, rsa1024('k-small'));
  s.idp.cacheControl = 'no-cache';
  const r = await run(['inspect', s.base]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /issuer\s+http:\/\/127\.0\.0\.1:\d+ ✓ matches/);
  assert.match(r.stdout, /cache-control\s+no-cache/);
  assert.match(r.stdout, /freshness\s+60 s/);
  assert.match(r.stdout, /If-None-Match → HTTP 304 ✓ 304 supported/);
  assert.match(r.stdout, /Keys \(2 accepted, 1 dropped\)/);
  assert.match(r.stdout, /✓ k1 {2}RSA 2048 bits {2}RS256 {2}sig {2}thumbprint [A-Za-z0-9_-]{43}/);
  assert.match(r.stdout, /✗ k-small {2}RSA 1024 bits {2}RS256 {2}sig {2}dropped: rsa-too-small/);
  for (const w of ['no-alg', 'rsa-small', 'no-cache', 'dropped-keys']) assert.match(r.stdout, new RegExp(`! ${w}: `), w);
  assert.doesNotMatch(r.stdout, /single-key/);
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colours off a TTY');
});

test('inspect --json: the same facts as one JSON document; a single key is warned about', async () => {
  const s = await idpWith(k2);
  const r = await run(['inspect', s.jwksUrl, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, any>;
  assert.equal(j.kind, 'jwks');
  assert.equal(j.jwksUri, s.jwksUrl);
  assert.equal(j.http.status, 200);
  assert.equal(j.http.headers['cache-control'], 'max-age=600');
  assert.equal(j.freshnessMs, 600_000);
  assert.deepEqual({ ...j.conditional }, { validator: 'etag', sent: true, status: 304, supported: true });
  assert.equal(j.keys.length, 1);
  assert.equal(j.keys[0].kid, 'k2');
  assert.equal(j.keys[0].crv, 'P-256');
  assert.equal(j.keys[0].status, 'accepted');
  assert.match(j.keys[0].thumbprint, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(j.warnings.map((w: { code: string }) => w.code), ['single-key']);
  assert.equal(j.ok, true);
  assert.equal(s.idp.conditionalRequests, 1);
});

test('inspect: issuer mismatch exits 1, an unreachable or failing IdP exits 3', async () => {
  const s = await idpWith(k1);
  s.issuerOverride = `${s.base}/`; // differs by a trailing slash only
  const mismatch = await run(['inspect', s.base, '--json']);
  assert.equal(mismatch.code, 1);
  const j = JSON.parse(mismatch.stdout) as Record<string, any>;
  assert.equal(j.discovery.error, 'DISCOVERY_ISSUER_MISMATCH');
  assert.equal(j.discovery.issuerMatches, false);
  const human = await run(['inspect', s.base]);
  assert.equal(human.code, 1);
  assert.match(human.stderr, /DISCOVERY_ISSUER_MISMATCH/);
  s.idp.mode = '503';
  const down = await run(['inspect', s.jwksUrl, '--json']);
  assert.equal(down.code, 3);
  assert.equal((JSON.parse(down.stdout) as Record<string, any>).error.code, 'JWKS_HTTP_STATUS');
  const gone = await run(['inspect', 'http://127.0.0.1:9/jwks.json']);
  assert.equal(gone.code, 3);
  assert.match(gone.stdout, /JWKS_NETWORK/);
});

test('verify: valid (0), each check explained, the signature never printed; --json; stdin', async () => {
  const s = await idpWith(k1);
  const token = await mint(k1, { iss: s.base, aud: 'api', claims: { email: 'secret@example.com' } });
  const sig = token.split('.')[2]!;
  const r = await run(['verify', token, '--issuer', s.base, '--audience', 'api']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const c of ['header', 'discovery', 'kid', 'signature', 'iss', 'aud', 'exp', 'iat']) assert.match(r.stdout, new RegExp(`^✓ ${c} `, 'm'), c);
  assert.match(r.stdout, /^- nbf +absent/m);
  assert.match(r.stdout, /other claims \(values not shown\): sub, email/);
  assert.match(r.stdout, /^VALID$/m);
  assert.ok(!r.stdout.includes(sig), 'signature not printed');
  assert.ok(!r.stdout.includes('secret@example.com'), 'claim values not printed');

  const j = await run(['verify', '-', '--issuer', s.base, '--audience', 'api', '--jwks-url', s.jwksUrl, '--json'], { input: `${token}\n` });
  assert.equal(j.code, 0, j.stderr);
  const o = JSON.parse(j.stdout) as { checks: { check: string; status: string }[]; verdict: Record<string, unknown> };
  assert.equal(o.verdict.valid, true);
  assert.equal(o.verdict.kid, 'k1');
  assert.deepEqual(o.checks.filter((c) => c.status === 'fail'), []);
  assert.ok(!o.checks.some((c) => c.check === 'discovery'), 'no discovery with --jwks-url');
  assert.ok(!j.stdout.includes(sig));
});

test('verify: invalid tokens exit 1 with the verifier’s code; unavailable keys exit 3', async () => {
  const s = await idpWith(k1);
  const base = ['--issuer', s.base, '--audience', 'api', '--jwks-url', s.jwksUrl, '--json'];
  const verdict = async (token: string) => {
    const r = await run(['verify', token, ...base]);
    return { code: r.code, o: JSON.parse(r.stdout) as { checks: { check: string; status: string; code?: string }[]; verdict: Record<string, unknown> } };
  };
  const now = Math.floor(Date.now() / 1000);
  const expired = await verdict(await mint(k1, { iss: s.base, aud: 'api', nowSec: now - 7200, expSec: 60 }));
  assert.equal(expired.code, 1);
  assert.equal(expired.o.verdict.code, 'TOKEN_EXPIRED');
  assert.equal(expired.o.checks.find((c) => c.check === 'exp')?.status, 'fail');
  const unknown = await verdict(await mint(makeKey('ghost', 'ES256'), { iss: s.base, aud: 'api' }));
  assert.equal(unknown.code, 1);
  assert.equal(unknown.o.verdict.code, 'KID_NOT_FOUND');
  assert.equal(unknown.o.checks.find((c) => c.check === 'kid')?.code, 'KID_NOT_FOUND');
  const forged = await mint({ ...makeKey('k1', 'RS256'), kid: 'k1' }, { iss: s.base, aud: 'api' });
  const bad = await verdict(forged);
  assert.equal(bad.code, 1);
  assert.equal(bad.o.verdict.code, 'SIGNATURE_INVALID');
  assert.equal(bad.o.checks.find((c) => c.check === 'signature')?.status, 'fail');
  const wrongIss = await verdict(await mint(k1, { iss: 'https://evil.test/', aud: 'api' }));
  assert.equal(wrongIss.code, 1);
  assert.equal(wrongIss.o.verdict.code, 'CLAIM_INVALID');
  const garbage = await verdict('not-a-jwt');
  assert.equal(garbage.code, 1);
  assert.equal(garbage.o.verdict.code, 'TOKEN_MALFORMED');
  s.idp.mode = '503';
  const down = await verdict(await mint(k1, { iss: s.base, aud: 'api' }));
  assert.equal(down.code, 3);
  assert.equal(down.o.verdict.httpStatus, 503);
  assert.equal(down.o.verdict.code, 'KEYS_NOT_LOADED');
  assert.equal(down.o.verdict.cause, 'JWKS_HTTP_STATUS');
});

test('watch --json: events as JSON lines; a rotation (SIGUSR1 refresh) is reported; SIGINT stops with exit 0', async () => {
  const s = await idpWith(k1);
  const p = new Proc(['watch', s.jwksUrl, '--json']);
  procs.push(p);
  const ready = await p.waitForJson('watch.ready');
  assert.deepEqual((ready.keys as { kid: string }[]).map((k) => k.kid), ['k1']);
  s.idp.publish(k2);
  p.kill('SIGUSR1');
  const changed = await p.waitForJson('keys.changed', (o) => o.previousGeneration === 1);
  assert.deepEqual(changed.added, ['k2']);
  assert.deepEqual(changed.removed, ['k1']);
  s.idp.mode = '503';
  p.kill('SIGUSR1');
  const failed = await p.waitForJson('refresh.failed');
  assert.equal(failed.code, 'JWKS_HTTP_STATUS');
  assert.equal(typeof failed.nextAttemptInMs, 'number');
  p.kill('SIGINT');
  const stopped = await p.waitForJson('watch.stopped');
  assert.equal(stopped.reason, 'SIGINT');
  assert.deepEqual(await p.exited, { code: 0, signal: null });
});

test('watch --once (human) and --duration; a failing IdP with --once exits 3', async () => {
  const s = await idpWith(k1, k2);
  const once = await run(['watch', s.jwksUrl, '--once']);
  assert.equal(once.code, 0, once.stderr);
  assert.match(once.stdout, /watching http:\/\/127\.0\.0\.1:\d+\/jwks\.json/);
  assert.match(once.stdout, /loaded: added k1, k2 \(generation 0 → 1\)/);
  assert.match(once.stdout, /ready: k1, k2/);
  const timed = await run(['watch', s.jwksUrl, '--duration', '0.5', '--json']);
  assert.equal(timed.code, 0);
  assert.equal(JSON.parse(timed.stdout.trim().split('\n').at(-1)!).reason, 'duration');
  s.idp.mode = '503';
  const down = await run(['watch', s.jwksUrl, '--once']);
  assert.equal(down.code, 3);
  assert.match(down.stdout, /refresh failed: JWKS_HTTP_STATUS \(HTTP 503\)/);
});

test('demo --builtin --json: the in-process story runs from dist and accepts no forged token', async () => {
  const r = await run(['demo', '--builtin', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { phases: { phase: string; accepted: number }[]; total: Record<string, number>; ok: boolean };
  assert.equal(j.ok, true);
  assert.equal(j.total.forgedAccepted, 0);
  assert.equal(j.phases.length, 5);
  assert.equal(j.total.accepted, 200);
  assert.ok(j.total.idpRequests! < 20, 'the flood did not reach the IdP per token');
});

test('IdP-supplied text cannot reach the terminal raw: control characters in kids are neutralised', async () => {
  const evil = makeKey('k1', 'ES256');
  evil.jwk.kid = 'k\x1b[2J\x1b[31mred\x07';
  const s = await idpWith(evil);
  for (const args of [['inspect', s.jwksUrl], ['watch', s.jwksUrl, '--once']]) {
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!/[\x00-\x09\x0b-\x1f]/.test(r.stdout + r.stderr), `${args[0]}: ${JSON.stringify(r.stdout)}`);
    assert.match(r.stdout, /k\?\[2J\?\[31mred\?/);
  }
});
