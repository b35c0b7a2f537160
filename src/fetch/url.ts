/**
 * URL checks for fetched documents: https only, plain http only to loopback hosts, no
 * embedded credentials.
 */
import { ConfigError } from '../errors.js';

/**
 * True if `hostname` is a loopback host: `localhost`, an IPv4 address in `127.0.0.0/8`, `::1`,
 * or an IPv4-mapped `::ffff:127.x.y.z`. Accepts `URL.hostname` forms (IPv6 in brackets) and
 * bare addresses; case-insensitive; a trailing dot is tolerated.
 *
 * Why: plain http is acceptable only when the traffic never leaves the machine (local IdP in
 * development, sidecars).
 */
export function isLoopbackHost(hostname: string): boolean {
  let h = hostname.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.') && !h.includes(':')) h = h.slice(0, -1);
  if (h === 'localhost') return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    return octets.every((o) => o <= 255) && octets[0] === 127;
  }
  if (h.includes(':')) {
    let canonical: string;
    try {
      canonical = new URL(`http://[${h}]/`).hostname;
    } catch {
      return false;
    }
    return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
  }
  return false;
}

/**
 * Validate a document URL (a JWKS URL by default) and return a parsed copy.
 *
 * @param url - the configured URL
 * @param name - the option name used in error messages
 * @param allowInsecureHttp - when `false` (the default everywhere), `http:` is accepted only for
 *   loopback hosts; `https:` is always accepted
 * @throws {@link ConfigError} for an unparseable URL, a scheme other than http/https, embedded
 *   credentials (`https://user:pass@...`, which `fetch` refuses anyway), or plain http to a
 *   non-loopback host when not allowed
 */
export function checkDocumentUrl(url: string | URL, allowInsecureHttp: boolean, name = 'jwksUri'): URL {
  let u: URL;
  try {
    u = new URL(url instanceof URL ? url.href : url);
  } catch (cause) {
    throw new ConfigError(`${name} is not a valid absolute URL`, { cause });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new ConfigError(`${name} must use https: (got ${u.protocol})`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new ConfigError(`${name} must not contain credentials`);
  }
  if (u.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(u.hostname)) {
    throw new ConfigError(
      `${name} must use https: (plain http is allowed only for loopback hosts, got ${u.host}; set allowInsecureHttp to override)`,
    );
  }
  return u;
}

/** {@link checkDocumentUrl} for the `jwksUri` option. */
export function checkJwksUrl(url: string | URL, allowInsecureHttp: boolean): URL {
  return checkDocumentUrl(url, allowInsecureHttp, 'jwksUri');
}
