/**
 * Immutable key-set snapshots with a generation number, indexed by kid, and their diff.
 */
import type { SupportedAlg, ValidatedKey } from './validate.js';

/** One immutable key set. A new generation is created only when the key material changes. */
export interface Snapshot {
  readonly generation: number;
  readonly keys: readonly ValidatedKey[];
  /** kid → keys carrying it (usually one; several when the IdP publishes different material under one kid). */
  readonly byKid: ReadonlyMap<string, readonly ValidatedKey[]>;
  /** Sorted thumbprints: the identity of the set's material. */
  readonly identity: string;
}

/** Identifier used in events: the kid, or `#<thumbprint>` for a key without one. */
export function keyLabel(k: ValidatedKey): string {
  return k.kid ?? `#${k.thumbprint}`;
}

/** Build a snapshot (kids indexed in a Map: `__proto__` and friends are ordinary keys). */
export function buildSnapshot(keys: readonly ValidatedKey[], generation: number): Snapshot {
  const byKid = new Map<string, ValidatedKey[]>();
  for (const k of keys) {
    if (k.kid === undefined) continue;
    const list = byKid.get(k.kid);
    if (list) list.push(k);
    else byKid.set(k.kid, [k]);
  }
  const identity = keys
    .map((k) => `${k.kid ?? ''}\u0000${k.thumbprint}`)
    .sort()
    .join('\u0001');
  return Object.freeze({ generation, keys: Object.freeze([...keys]), byKid, identity });
}

/** What changed between two sets, by label. */
export interface SnapshotDiff {
  added: string[];
  removed: string[];
  replaced: string[];
}

function materialByLabel(s: Snapshot | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (!s) return m;
  for (const k of s.keys) {
    const label = keyLabel(k);
    const prev = m.get(label);
    m.set(label, prev === undefined ? k.thumbprint : [prev, k.thumbprint].sort().join(','));
  }
  return m;
}

/** Keys added, removed, or whose material changed under the same kid. */
export function diffSnapshots(prev: Snapshot | undefined, next: Snapshot): SnapshotDiff {
  const a = materialByLabel(prev);
  const b = materialByLabel(next);
  const added: string[] = [];
  const removed: string[] = [];
  const replaced: string[] = [];
  for (const [label, m] of b) {
    const old = a.get(label);
    if (old === undefined) added.push(label);
    else if (old !== m) replaced.push(label);
  }
  for (const label of a.keys()) if (!b.has(label)) removed.push(label);
  return { added, removed, replaced };
}

/**
 * Keys a token may be verified with: those carrying `kid` (or, for a token without a kid,
 * every key of the set) whose permitted algorithms include `alg`.
 */
export function candidatesFor(s: Snapshot, kid: string | undefined, alg: SupportedAlg): { all: readonly ValidatedKey[]; usable: ValidatedKey[] } {
  const all = kid === undefined ? s.keys : (s.byKid.get(kid) ?? []);
  const usable: ValidatedKey[] = [];
  for (const k of all) if (k.algorithms.includes(alg)) usable.push(k);
  return { all, usable };
}
