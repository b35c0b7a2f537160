/**
 * The record codec: persisted key-set records survive a restart, so a process that boots
 * during an IdP outage still verifies (threats.md R2, F5).
 *
 * A persisted snapshot is only a bridge: on start the cache restores it (if it is intact, bound
 * to this JWKS URL and not too old) and fetches from the IdP at the same time; a fetched set
 * always wins. The record is authenticated with HMAC-SHA-256 under a secret you provide,
 * because whoever can write the store could otherwise plant their own signing key; its keys are
 * validated again on load as if they had just been fetched.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';
import type { Validators } from '../fetch/transport.js';
import type { ValidatedKey } from '../jwks/validate.js';

/** Why a persisted record was refused. */
export type RestoreRefusal =
  /** Not a record of this format, unreadable, or larger than the limit. */
  | 'malformed'
  /** The MAC does not match: modified, or written under another secret. */
  | 'tampered'
  /** Written for another JWKS URL. */
  | 'foreign'
  /** Older than its freshness plus `maxStaleMs`: would not be served even if it were in memory. */
  | 'too-old'
  /** Fetched more than a minute in the future of this machine's clock. */
  | 'from-the-future'
  /** No key of the record passes validation under the current options. */
  | 'no-usable-keys';

/** The decoded content of a persisted record. @internal */
export interface SnapshotRecord {
  jwksUri: string;
  /** Wall-clock time of the fetch (or 304) that last confirmed these keys, ms since the epoch. */
  fetchedAt: number;
  /** Freshness granted by that response, ms. */
  freshForMs: number;
  /**
   * Version of the record (see `KeySetRecord.version`). Records written before versions
   * existed decode with `version = fetchedAt`.
   */
  version: number;
  validators: Validators;
  keys: Record<string, unknown>[];
}

const FORMAT = 'jwks-keeper/snapshot@1';
/** Largest record accepted from a store. */
export const MAX_RECORD_CHARS = 4 * 1024 * 1024;

/** Resolve and check the secret. @internal */
export function persistenceKey(secret: unknown): Buffer {
  let key: Buffer;
  if (typeof secret === 'string') key = Buffer.from(secret, 'utf8');
  else if (secret instanceof Uint8Array) key = Buffer.from(secret);
  else throw new ConfigError('persistence.secret must be a string or a Uint8Array');
  if (key.length < 32) throw new ConfigError('persistence.secret must be at least 32 bytes');
  return key;
}

/** The public JWKs of a snapshot, with the Entra `issuer` binding kept. @internal */
export function persistableKeys(keys: readonly ValidatedKey[]): Record<string, unknown>[] {
  return keys.map((k) => (k.issuer === undefined ? { ...k.jwk } : { ...k.jwk, issuer: k.issuer }));
}

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(FORMAT).update('\0').update(body).digest();
}

/** Serialise and authenticate a record. @internal */
export function encodeRecord(r: SnapshotRecord, key: Buffer): string {
  const body = JSON.stringify({
    jwksUri: r.jwksUri,
    fetchedAt: r.fetchedAt,
    freshForMs: r.freshForMs,
    version: r.version,
    validators: { etag: r.validators.etag, lastModified: r.validators.lastModified },
    keys: r.keys,
  });
  return JSON.stringify({ format: FORMAT, body, mac: mac(key, body).toString('base64url') });
}

/** JSON text to an object, or `undefined` for anything else (bad JSON, `null`, a primitive). */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Check and decode a record. Never throws. @internal */
export function decodeRecord(
  data: unknown,
  key: Buffer,
  expect: { jwksUri: string; nowWall: number; maxStaleMs: number },
): SnapshotRecord | RestoreRefusal {
  if (typeof data !== 'string' || data.length > MAX_RECORD_CHARS) return 'malformed';
  const outer = parseObject(data);
  if (outer === undefined) return 'malformed';
  const { format, body, mac: tag } = outer;
  if (format !== FORMAT || typeof body !== 'string' || typeof tag !== 'string') return 'malformed';
  const given = Buffer.from(tag, 'base64url');
  const wanted = mac(key, body);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return 'tampered';
  const r = parseObject(body);
  if (r === undefined) return 'malformed';
  const { jwksUri, fetchedAt, freshForMs, validators, keys, version } = r;
  if (typeof jwksUri !== 'string' || typeof fetchedAt !== 'number' || typeof freshForMs !== 'number' || !Array.isArray(keys)) return 'malformed';
  if (!Number.isFinite(fetchedAt) || !Number.isFinite(freshForMs) || freshForMs < 0) return 'malformed';
  if (version !== undefined && (typeof version !== 'number' || !Number.isFinite(version))) return 'malformed';
  if (jwksUri !== expect.jwksUri) return 'foreign';
  if (fetchedAt > expect.nowWall + 60_000) return 'from-the-future';
  if (expect.nowWall - fetchedAt > freshForMs + expect.maxStaleMs) return 'too-old';
  const v = (validators ?? {}) as Record<string, unknown>;
  return {
    jwksUri,
    fetchedAt,
    freshForMs,
    version: version ?? fetchedAt,
    validators: {
      ...(typeof v.etag === 'string' ? { etag: v.etag } : {}),
      ...(typeof v.lastModified === 'string' ? { lastModified: v.lastModified } : {}),
    },
    keys: keys as Record<string, unknown>[],
  };
}

