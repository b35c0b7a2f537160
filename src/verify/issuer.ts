/**
 * Issuer matching, including Entra-style templated issuers
 * (`https://login.microsoftonline.com/{tenantid}/v2.0`), kept pure so it is testable alone.
 *
 * A template is never a pattern: the token's `tid` claim fills `{tenantid}`, the result is
 * compared with the token's `iss` using `===`, and `tid` must be in an allow-list unless the
 * caller explicitly allows any tenant. So `startsWith`/`includes` traps
 * (`…/v2.0.evil`, `…/v2.0/extra`, `login.microsoftonline.com.evil.com`) cannot match.
 */
import { ConfigError } from '../errors.js';

/** The placeholder Microsoft uses in multi-tenant issuers and in JWK `issuer` members. */
export const TENANT_PLACEHOLDER = '{tenantid}';
/** A tenant id: one URL path segment of letters, digits and dashes (Entra uses GUIDs). */
const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;

/** Fill `{tenantid}` in a template with a token's `tid`; `undefined` when `tid` is not a plain tenant id. */
export function fillTenant(template: string, tid: unknown): string | undefined {
  if (typeof tid !== 'string' || !TENANT_ID.test(tid)) return undefined;
  return template.replace(TENANT_PLACEHOLDER, tid);
}

/** Compiled issuer rule of a verifier. */
export interface IssuerRule {
  /** The exact issuer, or `undefined` when the issuer is templated (checked per token). */
  readonly exact: string | undefined;
  /** The issuer every token of this payload must carry, or `undefined` if none is acceptable. */
  expectedFor(payload: Readonly<Record<string, unknown>>): string | undefined;
}

/**
 * Compile the verifier's `issuer` option. A templated issuer must contain `{tenantid}` exactly
 * once and no other brace, and needs `tenants` (a list, or `'any'` to accept every tenant).
 */
export function compileIssuer(issuer: string, tenants: readonly string[] | 'any' | undefined): IssuerRule {
  if (!issuer.includes('{') && !issuer.includes('}')) {
    if (tenants !== undefined) throw new ConfigError('tenants is only meaningful with a templated issuer containing {tenantid}');
    return { exact: issuer, expectedFor: () => issuer };
  }
  const rest = issuer.replace(TENANT_PLACEHOLDER, '');
  if (rest.includes('{') || rest.includes('}')) {
    throw new ConfigError(`a templated issuer must contain ${TENANT_PLACEHOLDER} exactly once and no other braces`);
  }
  if (tenants === undefined) {
    throw new ConfigError(`a templated issuer needs tenants: a list of allowed tenant ids, or 'any'`);
  }
  let allowed: ReadonlySet<string> | undefined;
  if (tenants !== 'any') {
    if (!Array.isArray(tenants) || tenants.length === 0 || tenants.some((t) => typeof t !== 'string' || !TENANT_ID.test(t))) {
      throw new ConfigError(`tenants must be 'any' or a non-empty list of tenant ids (letters, digits, dashes)`);
    }
    allowed = new Set(tenants.map((t) => t.toLowerCase()));
  }
  return {
    exact: undefined,
    expectedFor(payload) {
      const tid = payload.tid;
      if (typeof tid !== 'string' || (allowed !== undefined && !allowed.has(tid.toLowerCase()))) return undefined;
      return fillTenant(issuer, tid);
    },
  };
}

/**
 * Whether a key bound to an issuer (the JWK `issuer` member, possibly templated) may verify a
 * token with this payload. Keys without the member are not bound.
 */
export function keyIssuerAllows(keyIssuer: string | undefined, payload: Readonly<Record<string, unknown>>): boolean {
  if (keyIssuer === undefined) return true;
  const expected = keyIssuer.includes(TENANT_PLACEHOLDER) ? fillTenant(keyIssuer, payload.tid) : keyIssuer;
  return expected !== undefined && payload.iss === expected;
}
