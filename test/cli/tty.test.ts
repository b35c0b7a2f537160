/**
 * On a terminal (a pseudo-terminal from util-linux `script`): colours and the live status line
 * of `watch`; NO_COLOR removes the colours; --json never draws a status line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey } from '../helpers/keys.js';
import { BIN, OidcIdp, buildOnce } from './helpers.js';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
let idp: OidcIdp;
before(async () => {
  buildOnce();
  idp = await new OidcIdp(new FakeIdp(makeKey('k1'))).start();
});
after(() => idp?.stop());

function onTty(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const c = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, TERM: 'xterm', ...env } });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) => resolve({ code, out }));
    c.stdin.end();
  });
}

const COLOUR = /\x1b\[(1|2|3\d)m/;

test('watch on a TTY: colours and a redrawn status line', { skip: !hasScript && 'util-linux script not installed' }, async () => {
  const r = await onTty(['watch', idp.jwksUrl, '--duration', '1.5'], { NO_COLOR: '' });
  assert.equal(r.code, 0);
  assert.match(r.out, /\x1b\[32mready\x1b\[0m: k1/);
  assert.match(r.out, /\r\x1b\[2K\x1b\[2mhealthy · generation 1 · 1 keys · fresh/);
});

test('NO_COLOR on a TTY: no colours, the status line stays; --json: no status line', { skip: !hasScript && 'util-linux script not installed' }, async () => {
  const r = await onTty(['watch', idp.jwksUrl, '--duration', '1.5'], { NO_COLOR: '1' });
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.out, COLOUR);
  assert.match(r.out, /\r\x1b\[2Khealthy · generation 1/);
  const j = await onTty(['watch', idp.jwksUrl, '--duration', '1.5', '--json'], { NO_COLOR: '' });
  assert.equal(j.code, 0);
  assert.doesNotMatch(j.out, /\x1b\[/);
  const i = await onTty(['inspect', idp.jwksUrl], { NO_COLOR: '' });
  assert.match(i.out, /\x1b\[1mJWKS\x1b\[0m/);
  const plain = await onTty(['inspect', idp.jwksUrl, '--no-color'], { NO_COLOR: '' });
  assert.doesNotMatch(plain.out, /\x1b\[/);
});
