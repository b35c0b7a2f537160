/**
 * The snapshot-store shape of the `persistence` option (`{ load, save }`), and the main
 * entry's `fileSnapshotStore`, which loads the file store (`jwks-keeper/file-store`) lazily so
 * `node:fs` stays out of the main import graph.
 */
import { ConfigError } from '../errors.js';
import type { SharedStore } from './contract.js';

/** Where snapshots are kept: a file, Redis, a database row. Both methods may reject; the cache reports it and goes on. */
export interface SnapshotStore {
  /** The last saved record, or `undefined` when there is none. */
  load(): Promise<string | undefined>;
  /** Replace the saved record. */
  save(record: string): Promise<void>;
}

/** Options of snapshot persistence. */
export interface PersistenceOptions {
  /**
   * Where to keep the snapshot: a `{ load, save }` store (see `fileSnapshotStore`), or a store
   * of the shared-store contract (`get`/`setIfNewer`: `memoryStore()`, `fileStore(dir)` from
   * `jwks-keeper/file-store`, a Redis store), written only with a newer version.
   */
  store: SnapshotStore | SharedStore;
  /**
   * Key of the HMAC that authenticates the record: at least 32 bytes (a string is taken as
   * UTF-8). Required: anyone able to write the store could otherwise plant a signing key.
   * Rotating it makes old records refused (`tampered`), which is safe: the cache fetches.
   */
  secret: string | Uint8Array;
}

/**
 * A {@link SnapshotStore} in one file, written atomically (temporary file, then rename) with
 * mode 0600. A missing file is "no snapshot". Reads are capped at 4 MiB.
 *
 * This entry point loads the implementation (`jwks-keeper/file-store`, which imports
 * `node:fs`) on first use, so importing `jwks-keeper` does not pull `node:fs` in. Prefer
 * importing it from `jwks-keeper/file-store` directly; this name stays for compatibility.
 */
export function fileSnapshotStore(path: string): SnapshotStore {
  if (typeof path !== 'string' || path.length === 0) throw new ConfigError('fileSnapshotStore needs a path');
  let real: Promise<SnapshotStore> | undefined;
  const store = (): Promise<SnapshotStore> => (real ??= import('./file.js').then((m) => m.fileSnapshotStore(path)));
  return {
    load: () => store().then((s) => s.load()),
    save: (record) => store().then((s) => s.save(record)),
  };
}
