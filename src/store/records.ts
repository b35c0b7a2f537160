/**
 * Between `KeySetRecord`s and the codec's authenticated text: the one place that turns a
 * record into what a store holds, and a decoded record back into keys validated again as if
 * just fetched (a store is never trusted). Used by persistence and by fleet mode.
 */
import type { KeySetRecord } from '../core/record.js';
import { makeRecord } from '../core/record.js';
import { buildSnapshot } from '../jwks/snapshot.js';
import type { ValidateOptions } from '../jwks/validate.js';
import { validateJwks } from '../jwks/validate.js';
import type { SnapshotRecord } from './codec.js';
import { encodeRecord, persistableKeys } from './codec.js';

/** Encode and authenticate `record` under `key`. @internal */
export function encodeKeySetRecord(record: KeySetRecord, key: Buffer): string {
  return encodeRecord(
    {
      jwksUri: record.jwksUri,
      fetchedAt: record.fetchedAt,
      freshForMs: record.freshForMs,
      version: record.version,
      validators: record.validators,
      keys: persistableKeys(record.snapshot.keys),
    },
    key,
  );
}

/** A decoded record as a `KeySetRecord` (provenance `decoded`), its keys validated again; `no-usable-keys` when none passes. @internal */
export function recordFromDecoded(r: SnapshotRecord, validation: ValidateOptions): KeySetRecord | 'no-usable-keys' {
  const { keys } = validateJwks({ keys: r.keys }, validation);
  if (keys.length === 0) return 'no-usable-keys';
  return makeRecord({
    jwksUri: r.jwksUri,
    snapshot: buildSnapshot(keys, 1),
    fetchedAt: r.fetchedAt,
    freshForMs: r.freshForMs,
    validators: r.validators,
    version: r.version,
    provenance: { kind: 'decoded' },
  });
}
