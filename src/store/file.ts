/**
 * The file stores (subpath `jwks-keeper/file-store`): `fileSnapshotStore(path)` (the
 * `{ load, save }` shape of `persistence.store`) and `fileStore(dir)` (the shared-store
 * contract). Kept out of the main entry so `node:fs` is not in its import graph.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { MAX_RECORD_CHARS } from './codec.js';
import type { SharedStore, StoredRecord } from './contract.js';
import type { SnapshotStore } from './snapshot-store.js';

export type { SnapshotStore } from './snapshot-store.js';
export type { SharedStore, StoredRecord } from './contract.js';

/**
 * A {@link SnapshotStore} in one file, written atomically (temporary file, then rename) with
 * mode 0600. A missing file is "no snapshot". Reads are capped at 4 MiB.
 */
export function fileSnapshotStore(path: string): SnapshotStore {
  if (typeof path !== 'string' || path.length === 0) throw new ConfigError('fileSnapshotStore needs a path');
  let seq = 0;
  return {
    async load() {
      try {
        const fh = await open(path, 'r');
        try {
          const { size } = await fh.stat();
          if (size > MAX_RECORD_CHARS) return `oversize:${size}`;
          return await readFile(fh, 'utf8');
        } finally {
          await fh.close();
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async save(record) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${++seq}.tmp`;
      try {
        const fh = await open(tmp, 'w', 0o600);
        try {
          await fh.writeFile(record, 'utf8');
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        throw err;
      }
    },
  };
}

/**
 * A {@link SharedStore} in a directory: one file per key (`<sha256(key)>.json` holding
 * `{ version, value }`), written atomically (temporary file, rename) with mode 0600.
 * `setIfNewer` is atomic between callers in this process (calls per key run one at a time)
 * and between processes on one machine (an exclusive lock file around compare-and-write;
 * a lock file older than 30 s is taken as left by a dead process). No `lock`/`subscribe`.
 */
export function fileStore(dir: string): SharedStore {
  if (typeof dir !== 'string' || dir.length === 0) throw new ConfigError('fileStore needs a directory');
  const chains = new Map<string, Promise<unknown>>();
  const fileOf = (key: string): string => join(dir, `${createHash('sha256').update(key).digest('base64url')}.json`);
  const read = async (key: string): Promise<StoredRecord | undefined> => {
    const text = await loadText(fileOf(key));
    if (text === undefined) return undefined;
    const r = JSON.parse(text) as { version?: unknown; value?: unknown };
    if (typeof r.version !== 'number' || typeof r.value !== 'string') throw new Error('fileStore: malformed entry');
    return { version: r.version, value: r.value };
  };
  const serial = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const p = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
    chains.set(key, p.catch(() => undefined));
    return p;
  };
  return {
    get: (key) => read(key),
    setIfNewer: (key, version, value) =>
      serial(key, async () => {
        if (typeof version !== 'number' || !Number.isFinite(version) || typeof value !== 'string') throw new TypeError('setIfNewer needs a finite version and a string value');
        await mkdir(dir, { recursive: true });
        const release = await lockFile(`${fileOf(key)}.lock`);
        try {
          const cur = await read(key);
          if (cur && cur.version >= version) return false;
          await writeAtomic(fileOf(key), JSON.stringify({ version, value }));
          return true;
        } finally {
          await release();
        }
      }),
  };
}

async function loadText(path: string): Promise<string | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      if (size > 2 * MAX_RECORD_CHARS) throw new Error(`fileStore: entry of ${size} bytes`);
      return await readFile(fh, 'utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

let tmpSeq = 0;
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${++tmpSeq}.tmp`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Take an exclusive lock file (create with O_EXCL); waits for another holder, breaks one older than 30 s. */
async function lockFile(path: string): Promise<() => Promise<void>> {
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await stat(path).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 30_000) await rm(path, { force: true });
      else if (attempt > 500) throw new Error(`fileStore: ${path} stays locked`);
      else await new Promise((r) => setTimeout(r, 10));
    }
  }
}
