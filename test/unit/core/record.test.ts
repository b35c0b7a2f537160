/** Record versions: a hybrid logical clock (wall ms, bumped past everything issued or seen). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VersionClock } from '../../../src/core/record.js';

test('VersionClock: table of issue/observe steps', () => {
  const c = new VersionClock();
  const steps: [op: 'next' | 'observe', arg: number, last: number][] = [
    ['next', 1000.7, 1000], // wall ms, floored
    ['next', 1000, 1001], // same ms: bumped
    ['next', 999, 1002], // wall went back: still increasing
    ['next', 5000, 5000], // wall ahead: follows it
    ['observe', 4000, 5000], // older version seen: no change
    ['observe', 9000, 9000], // newer version from elsewhere: adopted
    ['next', 5001, 9001], // the next local version orders after it
    ['next', Number.NaN, 9002], // a broken clock still increases
    ['observe', Number.POSITIVE_INFINITY, 9002], // a non-finite version is ignored
  ];
  for (const [op, arg, last] of steps) {
    if (op === 'next') assert.equal(c.next(arg), last, `next(${arg})`);
    else c.observe(arg);
    assert.equal(c.last, last, `${op}(${arg})`);
  }
});
