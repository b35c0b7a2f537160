/**
 * Test helpers for applications that use jwks-keeper (subpath `jwks-keeper/testing`):
 * a manual clock/scheduler to drive caches without sleeping, and the shared-store contract
 * suite to check a store implementation in your own runner.
 */
export { ManualClock, flushMicrotasks } from './manual-clock.js';
export { runSharedStoreContract } from './store-contract.js';
export type { ContractAssert, ContractTest } from './store-contract.js';
