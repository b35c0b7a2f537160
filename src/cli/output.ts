/**
 * Output conventions of the `jwks-keeper` CLI: exit codes, colours (only on a TTY, never with
 * `NO_COLOR` or `TERM=dumb`), usage errors, JSON printing.
 */
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

/** Exit codes, documented in docs/operations.md. Stable. */
export const EXIT = Object.freeze({
  /** Success: the keys are usable, the token is valid, the command ran. */
  OK: 0,
  /** The check failed: the token is invalid (401), the issuer does not match, no usable key. */
  FAILED: 1,
  /** Bad arguments or configuration. */
  USAGE: 2,
  /** Keys unavailable: the IdP could not be reached or answered unusable content (503). */
  UNAVAILABLE: 3,
  /** A bug: an unexpected error. */
  INTERNAL: 70,
});

/** A bad command line: printed with a pointer to `--help`, exit {@link EXIT.USAGE}. */
export class UsageError extends Error {}

/** Where a command writes, and how. Injected so the commands are testable in process. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal (live status lines are drawn only then). */
  readonly tty: boolean;
  /** Colours enabled. */
  readonly color: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The process's Io. */
export function processIo(forceNoColor = false): Io {
  const tty = process.stdout.isTTY === true;
  const env = process.env;
  const color = !forceNoColor && tty && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb';
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    tty,
    color,
    env,
  };
}

/** Colour helpers that are identity functions when colours are off. */
export function painter(color: boolean) {
  const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: paint('1'), dim: paint('2'), red: paint('31'), green: paint('32'), yellow: paint('33'), cyan: paint('36') };
}

/** Print a value as one JSON document (pretty) or one JSON line (`compact`). */
export function printJson(io: Io, value: unknown, compact = false): void {
  io.out(`${JSON.stringify(value, null, compact ? undefined : 2)}\n`);
}

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'no-color': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** `parseArgs` with strict checking; its errors become {@link UsageError}s. */
export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** A non-negative integer option, or the default. */
export function intOption(name: string, value: string | undefined, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A positive decimal option (seconds), or undefined. */
export function secondsOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new UsageError(`--${name} must be a positive number of seconds, got '${value}'`);
  return n;
}

/** Parse and check a URL given on the command line: https, or http to a loopback host. */
export function urlArgument(what: string, value: string | undefined, allowInsecureHttp = false): URL {
  if (value === undefined || value === '') throw new UsageError(`${what} is required`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`${what} is not a valid URL: '${value}'`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UsageError(`${what} must be an https URL, got ${u.protocol}`);
  if (u.protocol === 'http:' && !allowInsecureHttp && !isLoopback(u.hostname)) {
    throw new UsageError(`${what} must use https (http is allowed for loopback hosts only; --allow-insecure-http overrides)`);
  }
  return u;
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * Make IdP- or token-supplied text safe for a terminal: control characters (ESC sequences
 * could rewrite the screen) become `?`, and the length is bounded.
 */
export function printable(value: string, max = 200): string {
  const clean = value.slice(0, max).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return value.length > max ? `${clean}…` : clean;
}

/** Human duration: `750 ms`, `42 s`, `10 min`, `3.5 h`. */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(ms)} ms`;
  if (a < 120_000) return `${Math.round(ms / 100) / 10} s`;
  if (a < 7_200_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 360_000) / 10} h`;
}
