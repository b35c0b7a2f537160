/**
 * The file store (subpath `jwks-keeper/file-store`): kept out of the main entry so `node:fs`
 * is not in its import graph.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import { MAX_RECORD_CHARS } from './codec.js';
import type { SnapshotStore } from './snapshot-store.js';

export type { SnapshotStore } from './snapshot-store.js';

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
