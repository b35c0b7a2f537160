/**
 * Test helpers for applications that use jwks-keeper (subpath `jwks-keeper/testing`):
 * a manual clock/scheduler to drive caches without sleeping.
 */
export { ManualClock, flushMicrotasks } from './manual-clock.js';
