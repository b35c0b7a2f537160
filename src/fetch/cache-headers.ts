/**
 * Pure parsing of the HTTP caching headers that matter to a JWKS client: `Cache-Control`,
 * `Expires`, `Date`, `Age` (RFC 9111) and `Retry-After` (RFC 9110 §10.2.3).
 *
 * No I/O, no clock access: "now" is always passed in, so every function here is a table test.
 * Results are milliseconds, never negative, never `NaN`, never `Infinity`.
 */

/**
 * Upper bound on any duration these parsers return: 10 years, in milliseconds.
 *
 * Why: `max-age=99999999999999999999` or an `Expires` far in the future must not overflow into
 * `Infinity` or lose precision; policies clamp further (to their own `maxTtlMs`) anyway.
 */
export const MAX_HEADER_DURATION_MS = 10 * 365 * 24 * 60 * 60 * 1000;

const MAX_HEADER_DURATION_S = MAX_HEADER_DURATION_MS / 1000;

/**
 * Clamp `v` into `[min, max]`: returns `min(max(v, min), max)`.
 *
 * Used by refresh policies to bound header-derived lifetimes. A `NaN` input yields `min`
 * (the conservative end) rather than propagating `NaN` into timers. If `min > max`, `max` wins.
 *
 * @param v - the value to clamp (any unit; callers use milliseconds)
 * @param min - lower bound, inclusive
 * @param max - upper bound, inclusive
 */
export function clamp(v: number, min: number, max: number): number {
  if (Number.isNaN(v)) return Math.min(min, max);
  return Math.min(Math.max(v, min), max);
}

/**
 * Parse an RFC 9110 delta-seconds value (`1*DIGIT`), tolerating surrounding whitespace and one
 * pair of double quotes (`max-age="60"`, which some servers send). Returns seconds capped at
 * 10 years, or `undefined` if the value is not a non-negative integer.
 */
function parseDeltaSeconds(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  let s = raw.trim();
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).trim();
  if (!/^\d+$/.test(s)) return undefined;
  // Strip leading zeros before the length check so "000000000000000060" is 60, not the cap.
  const digits = s.replace(/^0+(?=\d)/, '');
  if (digits.length > 12) return MAX_HEADER_DURATION_S;
  return Math.min(Number(digits), MAX_HEADER_DURATION_S);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAY3 = '(?:mon|tue|wed|thu|fri|sat|sun)';
const DAYLONG = '(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const MON = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^${DAY3}, (\\d{2}) ${MON} (\\d{4}) ${TIME} GMT$`, 'i');
/** Obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^${DAYLONG}, (\\d{2})-${MON}-(\\d{2}) ${TIME} GMT$`, 'i');
/** Obsolete asctime: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(`^${DAY3} ${MON} ( \\d|\\d{2}) ${TIME} (\\d{4})$`, 'i');

/**
 * Parse an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, or the obsolete RFC 850 and asctime forms)
 * into milliseconds since the Unix epoch.
 *
 * Deliberately strict: `Date.parse` accepts almost anything ("0", "7.5", "2024"), and RFC 9111
 * says invalid dates must be treated as "in the past", so a lenient parser would turn garbage
 * into freshness. Month/day names are matched case-insensitively; the weekday is not checked
 * against the date.
 *
 * @returns epoch milliseconds, or `undefined` if `value` is not a valid HTTP-date
 */
export function parseHttpDate(value: string | null | undefined): number | undefined {
  if (value == null) return undefined;
  const s = value.trim();
  let year: number;
  let mon: string;
  let day: number;
  let hh: number;
  let mm: number;
  let ss: number;
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(s))) {
    day = Number(m[1]);
    mon = m[2] ?? '';
    year = Number(m[3]);
    hh = Number(m[4]);
    mm = Number(m[5]);
    ss = Number(m[6]);
  } else if ((m = RFC850_DATE.exec(s))) {
    day = Number(m[1]);
    mon = m[2] ?? '';
    const yy = Number(m[3]);
    // RFC 9110: a two-digit year more than 50 years in the future means the past century.
    // Simplified to a fixed pivot; only ancient servers send this form.
    year = yy < 70 ? 2000 + yy : 1900 + yy;
    hh = Number(m[4]);
    mm = Number(m[5]);
    ss = Number(m[6]);
  } else if ((m = ASCTIME_DATE.exec(s))) {
    mon = m[1] ?? '';
    day = Number((m[2] ?? '').trim());
    hh = Number(m[3]);
    mm = Number(m[4]);
    ss = Number(m[5]);
    year = Number(m[6]);
  } else {
    return undefined;
  }
  const month = MONTHS.indexOf(mon.toLowerCase());
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return undefined;
  const ms = Date.UTC(year, month, day, hh, mm, Math.min(ss, 59));
  // Reject dates that Date.UTC silently rolls over (Feb 30 -> Mar 2).
  if (!Number.isFinite(ms) || new Date(ms).getUTCDate() !== day) return undefined;
  return ms;
}

/**
 * Split a `Cache-Control` value into lowercase directive names and unquoted values.
 * Commas inside quoted strings do not split (`no-cache="a, b"` is one directive).
 */
function parseCacheControl(value: string): Array<{ name: string; value: string | undefined }> {
  const parts: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (inQuotes && c === '\\' && i + 1 < value.length) {
      cur += c + value[i + 1];
      i++;
      continue;
    }
    if (c === '"') inQuotes = !inQuotes;
    if (c === ',' && !inQuotes) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  const out: Array<{ name: string; value: string | undefined }> = [];
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    out.push({ name, value: eq < 0 ? undefined : part.slice(eq + 1).trim() });
  }
  return out;
}

/**
 * Remaining freshness lifetime, in milliseconds, of a response as seen by a private cache.
 *
 * Rules (RFC 9111 §4.2, simplified for a single-resource private cache):
 * - `no-cache` or `no-store` → `0` (revalidate before reuse).
 * - `max-age=N` (delta-seconds, quotes tolerated; with several, the first valid one wins; if
 *   present but none is valid, `0`, because invalid freshness information means stale)
 *   wins over `Expires`. `s-maxage` is ignored: we are a private cache.
 * - otherwise `Expires − Date` (or `Expires − nowWallMs` if `Date` is absent or invalid);
 *   an invalid `Expires` (e.g. `"0"`, `"-1"`) → `0`.
 * - `Age` (non-negative integer seconds; anything else ignored) is subtracted from the lifetime.
 *
 * Directive names are case-insensitive, whitespace tolerant, unknown directives are ignored.
 * The result is in `[0, MAX_HEADER_DURATION_MS]` (10 years), never `NaN`.
 *
 * @param h - raw header values as returned by `Headers.get` (`null`/`undefined` = absent)
 * @param nowWallMs - wall-clock now in ms since epoch; used only when `Date` is unusable
 * @returns milliseconds of remaining freshness, or `undefined` if the headers say nothing
 *   about freshness (the caller then applies its own default TTL)
 */
export function freshnessFromHeaders(
  h: { cacheControl?: string | null; expires?: string | null; date?: string | null; age?: string | null },
  nowWallMs: number,
): number | undefined {
  const directives = h.cacheControl == null ? [] : parseCacheControl(h.cacheControl);
  const ageSeconds = parseDeltaSeconds(h.age ?? undefined) ?? 0;
  const ageMs = ageSeconds * 1000;

  if (directives.some((d) => d.name === 'no-cache' || d.name === 'no-store')) return 0;

  const maxAges = directives.filter((d) => d.name === 'max-age');
  if (maxAges.length > 0) {
    let lifetimeS: number | undefined;
    for (const d of maxAges) {
      lifetimeS = parseDeltaSeconds(d.value);
      if (lifetimeS !== undefined) break;
    }
    if (lifetimeS === undefined) return 0;
    return clamp(lifetimeS * 1000 - ageMs, 0, MAX_HEADER_DURATION_MS);
  }

  if (h.expires != null) {
    const expires = parseHttpDate(h.expires);
    if (expires === undefined) return 0;
    const base = parseHttpDate(h.date) ?? nowWallMs;
    const lifetime = expires - base;
    if (!Number.isFinite(lifetime)) return 0;
    return clamp(lifetime - ageMs, 0, MAX_HEADER_DURATION_MS);
  }

  return undefined;
}

/**
 * Parse a `Retry-After` header (RFC 9110 §10.2.3) into milliseconds from now.
 *
 * Accepts delta-seconds (`"7"` → 7000) or an HTTP-date (→ `date − nowWallMs`, `0` if already
 * past). Capped at 10 years. Fractions, negatives and other garbage yield `undefined`, so the
 * caller falls back to its own backoff instead of trusting a malformed hint.
 *
 * @param value - the raw header value, `null`/`undefined` if absent
 * @param nowWallMs - wall-clock now in ms since epoch (for the HTTP-date form)
 * @returns milliseconds to wait, never negative, or `undefined` if absent/invalid
 */
export function parseRetryAfter(value: string | null | undefined, nowWallMs: number): number | undefined {
  if (value == null) return undefined;
  const s = value.trim();
  if (s === '') return undefined;
  if (/^\d+$/.test(s)) {
    const seconds = parseDeltaSeconds(s);
    return seconds === undefined ? undefined : seconds * 1000;
  }
  const at = parseHttpDate(s);
  if (at === undefined) return undefined;
  const delta = at - nowWallMs;
  if (!Number.isFinite(delta)) return undefined;
  return clamp(delta, 0, MAX_HEADER_DURATION_MS);
}
