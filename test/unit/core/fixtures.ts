import { validateJwks } from '../../../src/jwks/validate.js';
import { buildSnapshot } from '../../../src/jwks/snapshot.js';
import type { Snapshot } from '../../../src/jwks/snapshot.js';
import type { KeySetRecord } from '../../../src/core/record.js';
import { makeRecord } from '../../../src/core/record.js';
import { makeKey } from '../../helpers/keys.js';

const keys = new Map<string, Record<string, unknown>>();
/** The public JWK of a stable test key per kid. */
export function jwk(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Record<string, unknown> {
  const id = `${kid}/${alg}`;
  if (!keys.has(id)) keys.set(id, makeKey(kid, alg, { fresh: alg === 'ES256' }).jwk);
  return keys.get(id)!;
}

export function snap(kids: (string | Record<string, unknown>)[], generation = 1, prev?: Snapshot): Snapshot {
  const { keys: v } = validateJwks({ keys: kids.map((k) => (typeof k === 'string' ? jwk(k) : k)) });
  return buildSnapshot(v, generation, prev);
}

export function record(s: Snapshot, version: number, over: Partial<KeySetRecord> = {}): KeySetRecord {
  return makeRecord({ jwksUri: 'https://idp.test/jwks', snapshot: s, fetchedAt: Date.UTC(2026, 0, 1), freshForMs: 600_000, validators: {}, version, provenance: { kind: 'modified', durationMs: 1, bytes: 10 }, ...over });
}
