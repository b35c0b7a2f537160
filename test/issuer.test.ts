import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileIssuer, keyIssuerAllows } from '../src/verify/issuer.js';
import { ConfigError } from '../src/index.js';

const TMPL = 'https://login.microsoftonline.com/{tenantid}/v2.0';
const T1 = '9188040d-6c67-4c5b-b112-36a304b66dad';
const T2 = '72f988bf-86f1-41af-91ab-2d7cd011db47';

test('exact issuer: compared with ===, tenants refused', () => {
  const r = compileIssuer('https://idp.test/', undefined);
  assert.equal(r.exact, 'https://idp.test/');
  assert.equal(r.expectedFor({}), 'https://idp.test/');
  assert.throws(() => compileIssuer('https://idp.test/', [T1]), ConfigError);
});

test('templated issuer: config errors', () => {
  assert.throws(() => compileIssuer(TMPL, undefined), ConfigError, 'a template without tenants would accept every tenant');
  assert.throws(() => compileIssuer(TMPL, []), ConfigError);
  assert.throws(() => compileIssuer(TMPL, ['a/b']), ConfigError);
  assert.throws(() => compileIssuer('https://x/{tenantid}/{tenantid}', 'any'), ConfigError);
  assert.throws(() => compileIssuer('https://x/{tenant}/v2.0', 'any'), ConfigError);
  assert.throws(() => compileIssuer('https://x/}/v2.0', 'any'), ConfigError);
});

test('templated issuer: tid fills the template, allow-list enforced, no startsWith traps', () => {
  const r = compileIssuer(TMPL, [T1.toUpperCase()]);
  assert.equal(r.exact, undefined);
  assert.equal(r.expectedFor({ tid: T1 }), `https://login.microsoftonline.com/${T1}/v2.0`);
  assert.equal(r.expectedFor({ tid: T2 }), undefined, 'foreign tenant');
  assert.equal(r.expectedFor({}), undefined, 'missing tid');
  for (const tid of [`${T1}/x`, '..', '', 'a'.repeat(65), 42, null, { toString: () => T1 }]) {
    assert.equal(compileIssuer(TMPL, 'any').expectedFor({ tid }), undefined, `tid ${String(tid)}`);
  }
  const any = compileIssuer(TMPL, 'any');
  assert.equal(any.expectedFor({ tid: T2 }), `https://login.microsoftonline.com/${T2}/v2.0`);
});

test('key issuer binding: exact, templated, absent', () => {
  const iss = `https://login.microsoftonline.com/${T1}/v2.0`;
  assert.equal(keyIssuerAllows(undefined, { iss }), true);
  assert.equal(keyIssuerAllows(iss, { iss }), true);
  assert.equal(keyIssuerAllows(TMPL, { iss, tid: T1 }), true);
  assert.equal(keyIssuerAllows(TMPL, { iss, tid: T2 }), false);
  assert.equal(keyIssuerAllows(TMPL, { iss }), false);
  assert.equal(keyIssuerAllows(TMPL, { iss: `${iss}.evil`, tid: T1 }), false);
  assert.equal(keyIssuerAllows('https://evil.example/{tenantid}/v2.0', { iss: 'https://idp.test/', tid: T1 }), false);
});
