/**
 * Decoding a shared record: the persistence codec (HMAC under the fleet secret, bound to the
 * JWKS URL, not too old, not from the future), then two checks of fleet mode: the MAC'd
 * version must equal the version the record is stored under (an old genuine record replayed
 * under a new number is refused), and its keys are validated again as if just fetched.
 */
import type { KeySetRecord } from '../core/record.js';
import type { ValidateOptions } from '../jwks/validate.js';
import { decodeRecord } from '../store/codec.js';
import { recordFromDecoded } from '../store/records.js';
import type { StoredRecord } from '../store/contract.js';
import type { FleetRefusal } from './types.js';

/** A stored record as a `KeySetRecord` (provenance `decoded`), or why it is refused. Never throws. @internal */
export function decodeShared(
  stored: StoredRecord,
  secret: Buffer,
  expect: { jwksUri: string; nowWall: number; maxStaleMs: number },
  validation: ValidateOptions,
): KeySetRecord | FleetRefusal {
  const r = decodeRecord(stored.value, secret, expect);
  if (typeof r === 'string') return r;
  if (r.version !== stored.version) return 'version-mismatch';
  return recordFromDecoded(r, validation);
}
