/**
 * The shared RFC 6750 rules (src/adapters/http.ts) and what errors carry for frameworks
 * (src/errors.ts), as tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerFor, parseAuthorization, readCookie, scopeError, scopesOf } from '../../src/adapters/http.js';
import { BearerRequestError, ConfigError, KeysUnavailableError, TokenInvalidError, bearerChallenge, isVerifyError } from '../../src/errors.js';
import type { JwksKeeperError, VerifyError } from '../../src/errors.js';

test('parseAuthorization: token, no token, or AUTHORIZATION_MALFORMED', () => {
  const cases: [string | string[] | undefined, string | undefined | 'malformed'][] = [
    [undefined, undefined],
    ['', undefined],
    ['   ', undefined],
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc', 'abc'],
    ['BEARER abc', 'abc'],
    ['Bearer   abc', 'abc'],
    ['Bearer a-b_c~d+e/f=', 'a-b_c~d+e/f='],
    ['Basic dXNlcjpwYXNz', undefined],
    ['Digest username="x"', undefined],
    ['Bearer', 'malformed'],
    ['Bearer ', 'malformed'],
    ['Bearer a b', 'malformed'],
    ['Bearer a,b', 'malformed'],
    ['Bearer "abc"', 'malformed'],
    ['Bearer ä', 'malformed'],
    ['Bearer a=b', 'malformed'],
    ['(bad scheme) x', 'malformed'],
    [['Bearer a', 'Bearer b'], 'malformed'],
  ];
  for (const [input, want] of cases) {
    const got = parseAuthorization(input, 'api');
    if (want === 'malformed') {
      assert.ok(got instanceof BearerRequestError, JSON.stringify(input));
      assert.equal(got.code, 'AUTHORIZATION_MALFORMED');
      assert.equal(got.httpStatus, 400);
    } else {
      assert.equal(got, want, JSON.stringify(input));
    }
  }
});

test('readCookie', () => {
  assert.equal(readCookie('a=1; token=abc.def; b=2', 'token'), 'abc.def');
  assert.equal(readCookie('token="abc"', 'token'), 'abc');
  assert.equal(readCookie('xtoken=1', 'token'), undefined);
  assert.equal(readCookie(undefined, 'token'), undefined);
  assert.equal(readCookie(['a=1', 'token=z'], 'token'), 'z');
});

test('scopesOf merges scope (string or array), scp (string or array) and permissions', () => {
  const cases: [Record<string, unknown>, string[]][] = [
    [{}, []],
    [{ scope: 'a b  c' }, ['a', 'b', 'c']],
    [{ scope: ['a', 'b'] }, ['a', 'b']],
    [{ scp: ['x'] }, ['x']],
    [{ scp: 'User.Read Mail.Send' }, ['User.Read', 'Mail.Send']],
    [{ permissions: ['read:orders', 7, null] }, ['read:orders']],
    [{ scope: 'a', scp: ['b'], permissions: ['c'] }, ['a', 'b', 'c']],
    [{ scope: 42 }, []],
  ];
  for (const [payload, want] of cases) assert.deepEqual([...scopesOf(payload)].sort(), want.sort(), JSON.stringify(payload));
  assert.equal(scopeError({ scope: 'a b' }, ['a', 'b']), undefined);
  assert.equal(scopeError({ scope: 'a' }, ['a', 'b'])?.code, 'INSUFFICIENT_SCOPE');
  assert.equal(scopeError(undefined, ['a'])?.code, 'TOKEN_MISSING');
});

test('bearerChallenge follows RFC 6750 §3', () => {
  assert.equal(bearerChallenge(new BearerRequestError('TOKEN_MISSING', 'x'), 'api'), 'Bearer realm="api"');
  assert.equal(bearerChallenge(new BearerRequestError('TOKEN_MISSING', 'x')), 'Bearer');
  assert.equal(bearerChallenge(new TokenInvalidError('TOKEN_EXPIRED', 'x'), 'api'), 'Bearer realm="api", error="invalid_token", error_description="token expired"');
  assert.equal(
    bearerChallenge(new TokenInvalidError('CLAIM_INVALID', 'x', { claim: 'aud' }), 'my "realm"\\'),
    'Bearer realm="my realm", error="invalid_token", error_description="invalid aud claim"',
  );
  // an odd claim name never reaches the header
  assert.equal(bearerChallenge(new TokenInvalidError('CLAIM_INVALID', 'x', { claim: 'a"b, c' })), 'Bearer error="invalid_token", error_description="invalid claim"');
  assert.equal(
    bearerChallenge(new BearerRequestError('INSUFFICIENT_SCOPE', 'x', { requiredScopes: ['read:a', 'b'] }), 'api'),
    'Bearer realm="api", error="insufficient_scope", error_description="insufficient scope", scope="read:a b"',
  );
  assert.equal(bearerChallenge(new BearerRequestError('AUTHORIZATION_MALFORMED', 'x'), 'api'), 'Bearer realm="api", error="invalid_request", error_description="malformed Authorization header"');
});

test('errors carry what frameworks read: status, statusCode, headers, expose, retryAfterMs', () => {
  const rows: [JwksKeeperError, number, Record<string, string>, boolean][] = [
    [new TokenInvalidError('SIGNATURE_INVALID', 'x'), 401, { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="invalid signature"' }, true],
    [new KeysUnavailableError('KEYS_NOT_LOADED', 'x', { retryAfterMs: 1500 }), 503, { 'Retry-After': '2' }, false],
    [new KeysUnavailableError('KEYS_NOT_LOADED', 'x', { retryAfterMs: 10 }), 503, { 'Retry-After': '1' }, false],
    [new KeysUnavailableError('CLOSED', 'x'), 503, {}, false],
    [new BearerRequestError('TOKEN_MISSING', 'x', { realm: 'r' }), 401, { 'WWW-Authenticate': 'Bearer realm="r"' }, true],
    [new BearerRequestError('AUTHORIZATION_MALFORMED', 'x'), 400, { 'WWW-Authenticate': 'Bearer error="invalid_request", error_description="malformed Authorization header"' }, true],
    [new BearerRequestError('INSUFFICIENT_SCOPE', 'x', { requiredScopes: ['a'] }), 403, { 'WWW-Authenticate': 'Bearer error="insufficient_scope", error_description="insufficient scope", scope="a"' }, true],
    [new ConfigError('x'), 500, {}, false],
  ];
  for (const [err, status, headers, expose] of rows) {
    assert.equal(err.status, status, err.code);
    assert.equal(err.statusCode, status, err.code);
    assert.equal(err.httpStatus, status, err.code);
    assert.deepEqual(err.headers, headers, err.code);
    assert.equal(err.expose, expose, err.code);
  }
  // retryAfterMs is on the base class: readable on any JwksKeeperError without narrowing
  const any: JwksKeeperError = new TokenInvalidError('KID_NOT_FOUND', 'x');
  assert.equal(any.retryAfterMs, undefined);
  assert.equal((rows[1]![0] as JwksKeeperError).retryAfterMs, 1500);
});

test('error handlers may assign status/headers/expose (Koa does err.status = ...)', () => {
  'use strict';
  const err = new KeysUnavailableError('KEYS_STALE', 'x', { retryAfterMs: 3000 });
  err.status = 503;
  err.expose = true;
  err.headers = { a: 'b' };
  err.statusCode = 502;
  assert.equal(err.status, 503);
  assert.equal(err.statusCode, 502);
  assert.equal(err.expose, true);
  assert.deepEqual(err.headers, { a: 'b' });
  assert.equal(err.httpStatus, 503);
  const other = new KeysUnavailableError('KEYS_STALE', 'x', { retryAfterMs: 3000 });
  assert.deepEqual(other.headers, { 'Retry-After': '3' });
});

test('VerifyError narrows on httpStatus and code', () => {
  const errs: unknown[] = [new TokenInvalidError('TOKEN_EXPIRED', 'x', { claim: 'exp' }), new KeysUnavailableError('KEYS_STALE', 'x', { retryAfterMs: 5 }), new ConfigError('x'), new Error('x')];
  const seen: string[] = [];
  for (const e of errs) {
    if (!isVerifyError(e)) {
      seen.push('other');
      continue;
    }
    const v: VerifyError = e;
    if (v.httpStatus === 503) seen.push(`503 ${v.code} ${v.retryAfterMs}`);
    else seen.push(`401 ${v.code} ${v.claim}`);
  }
  assert.deepEqual(seen, ['401 TOKEN_EXPIRED exp', '503 KEYS_STALE 5', 'other', 'other']);
});

test('answerFor: the JSON answer per error; undefined for errors that are not ours to answer', () => {
  assert.deepEqual(answerFor(new TokenInvalidError('TOKEN_EXPIRED', 'x'), 'api'), {
    status: 401,
    headers: { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token", error_description="token expired"' },
    body: { error: 'invalid_token', error_description: 'token expired', code: 'TOKEN_EXPIRED' },
  });
  assert.deepEqual(answerFor(new KeysUnavailableError('UNKNOWN_KID_CAPACITY', 'x', { retryAfterMs: 9000 }), 'api')?.headers, { 'Retry-After': '9' });
  assert.equal(answerFor(new KeysUnavailableError('CLOSED', 'x'))?.status, 503);
  assert.equal(answerFor(new ConfigError('x')), undefined);
  assert.equal(answerFor(new Error('x')), undefined);
});
