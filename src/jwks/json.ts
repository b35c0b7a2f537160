/**
 * Defensive reads of parsed JSON: plain objects only, own members only, values described for
 * drop details without echoing attacker-controlled text unsanitised.
 *
 * @module
 */
import { sanitizeForLog } from '../errors.js';

/**
 * Plain JSON-like object: a non-array object whose prototype is null or some realm's
 * `Object.prototype` (so class instances, Maps, Dates, Buffers ... are not plain).
 */
export function isPlainObject(value: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** Own-property read: inherited (possibly polluted) members are never seen. */
export function own(obj: object, name: string): unknown {
  return Object.hasOwn(obj, name) ? (obj as Record<string, unknown>)[name] : undefined;
}

/** A short, log-safe description of a JSON value for drop details. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return `"${sanitizeForLog(value, 32)}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
