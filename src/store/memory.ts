/**
 * The in-memory shared store: the reference implementation of the {@link SharedStore}
 * contract, for tests and single-process use (several caches of one process can share it).
 */
import type { Clock } from '../runtime/clock.js';
import { systemClock } from '../runtime/clock.js';
import type { SharedStore, StoreLease, StoredRecord } from './contract.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /** Clock for lock expiry (monotonic). Default: the process clock. */
  clock?: Clock;
}

/** A {@link SharedStore} in this process's memory: atomic by construction, locks expire after their TTL, subscribers are told of every write. */
export function memoryStore(options: MemoryStoreOptions = {}): SharedStore {
  const clock = options.clock ?? systemClock;
  const records = new Map<string, StoredRecord>();
  const locks = new Map<string, { token: object; until: number }>();
  const subscribers = new Map<string, Set<(version: number) => void>>();
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('memory store closed');
  };
  return {
    async get(key) {
      open();
      return records.get(key);
    },
    async setIfNewer(key, version, value) {
      open();
      if (typeof version !== 'number' || !Number.isFinite(version) || typeof value !== 'string') throw new TypeError('setIfNewer needs a finite version and a string value');
      const cur = records.get(key);
      if (cur && cur.version >= version) return false;
      records.set(key, Object.freeze({ version, value }));
      for (const fn of [...(subscribers.get(key) ?? [])]) queueMicrotask(() => fn(version));
      return true;
    },
    async lock(key, ttlMs): Promise<StoreLease | undefined> {
      open();
      const now = clock.monotonicNow();
      const held = locks.get(key);
      if (held && held.until > now) return undefined;
      const token = {};
      locks.set(key, { token, until: now + Math.max(0, ttlMs) });
      return {
        async release() {
          if (locks.get(key)?.token === token) locks.delete(key);
        },
      };
    },
    async subscribe(key, onVersion) {
      open();
      let set = subscribers.get(key);
      if (!set) subscribers.set(key, (set = new Set()));
      const fn = (v: number): void => onVersion(v);
      set.add(fn);
      return async () => {
        subscribers.get(key)?.delete(fn);
      };
    },
    async close() {
      closed = true;
      subscribers.clear();
      locks.clear();
    },
  };
}
