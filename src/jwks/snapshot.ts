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
  /** The identity of the set's material: sorted `[kid, thumbprint]` pairs, JSON-encoded (no separator a kid could forge). */
  readonly identity: string;
}

/** Identifier used in events: the kid, or `#<thumbprint>` for a key without one. */
export function keyLabel(k: ValidatedKey): string {
  return k.kid ?? `#${k.thumbprint}`;
}

/**
 * What makes two keys the same key: kid, material, pinned algorithms and bound issuer,
 * JSON-encoded so no kid can forge a separator.
 */
export function keyIdentity(k: ValidatedKey): string {
  return JSON.stringify([k.kid ?? null, k.thumbprint, k.algorithms, k.issuer ?? null]);
}

/**
 * Build a snapshot (kids indexed in a Map: `__proto__` and friends are ordinary keys). Keys
 * identical to one of `prev` reuse `prev`'s object, so per-key state (imported key, "first
 * used") carries over to the next generation.
 */
export function buildSnapshot(fresh: readonly ValidatedKey[], generation: number, prev?: Snapshot): Snapshot {
  const previous = new Map<string, ValidatedKey>();
  if (prev) for (const k of prev.keys) previous.set(keyIdentity(k), k);
  const ids = fresh.map(keyIdentity);
  const keys = fresh.map((k, i) => previous.get(ids[i]!) ?? k);
  const byKid = new Map<string, ValidatedKey[]>();
  for (const k of keys) {
    if (k.kid === undefined) continue;
    const list = byKid.get(k.kid);
    if (list) list.push(k);
    else byKid.set(k.kid, [k]);
  }
  const identity = JSON.stringify(ids.sort());
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
    const id = keyIdentity(k);
    m.set(label, prev === undefined ? id : [prev, id].sort().join(','));
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
 * every key of the set) whose permitted algorithms include `alg` (every one of them when `alg`
 * is undefined: a kid-only lookup).
 */
export function candidatesFor(s: Snapshot, kid: string | undefined, alg: SupportedAlg | undefined): { all: readonly ValidatedKey[]; usable: ValidatedKey[] } {
  const all = kid === undefined ? s.keys : (s.byKid.get(kid) ?? []);
  const usable: ValidatedKey[] = [];
  for (const k of all) if (alg === undefined || k.algorithms.includes(alg)) usable.push(k);
  return { all, usable };
}
