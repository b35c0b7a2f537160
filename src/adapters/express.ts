/**
 * Express adapter (`jwks-keeper/express`): a middleware that verifies the bearer token and
 * puts its payload on `req.auth`, answering RFC 6750 challenges, and a scope guard.
 *
 * ```ts
 * const auth = bearerAuth({ issuer, audience, jwksUri, algorithms: ['RS256'] });
 * app.get('/api/me', auth, (req, res) => res.json(req.auth));
 * app.post('/api/admin', auth, requireScopes('admin'), handler);
 * ```
 *
 * Works with Express 4 and 5 (types from `@types/express`). Uses only the public API.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { JWTPayload } from 'jose';
import type { Verifier } from '../verify/verifier.js';
import type { AdapterOptions, BearerAnswer, Readiness } from './http.js';
import { answerFor, checkScopeList, createAdapterCore, readinessProbe, scopeError } from './http.js';

export { readinessProbe, scopesOf } from './http.js';
export type { AdapterOptions, BearerAdapterOptions, BearerAnswer, Readiness, TokenSourceOptions } from './http.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified token's payload, set by `jwks-keeper/express`'s `bearerAuth` (default property). */
      auth?: JWTPayload;
    }
  }
}

/** Options of {@link bearerAuth}: the verifier's options (or `verifier`), the shared adapter options, and `property`. */
export type ExpressBearerOptions = AdapterOptions<Request> & {
  /**
   * The request property that receives the verified payload. Default: `'auth'` (as
   * express-jwt 8 and express-oauth2-jwt-bearer; typed on `Request`). With another name,
   * type it yourself.
   */
  property?: string;
};

/** The middleware, with the verifier it uses. */
export interface ExpressBearerMiddleware extends RequestHandler {
  /** The verifier (created from the options, or the one given). */
  readonly verifier: Verifier;
  /** Close the verifier if the middleware created it (its cache's timers and sockets). */
  close(): Promise<void>;
}

interface AuthState {
  property: string;
  realm: string;
  passErrors: boolean;
}

const STATE = Symbol.for('jwks-keeper.express');
const DEFAULT_STATE: AuthState = Object.freeze({ property: 'auth', realm: 'api', passErrors: false });

type StatefulRequest = Request & { [STATE]?: AuthState };

function send(res: Response, a: BearerAnswer): void {
  res.status(a.status).set(a.headers).json(a.body);
}

function fail(err: unknown, res: Response, next: NextFunction, state: AuthState): void {
  const a = state.passErrors ? undefined : answerFor(err, state.realm);
  if (a === undefined) next(err);
  else send(res, a);
}

/**
 * Verify the request's bearer token (RFC 6750) and put the payload on `req[property]`.
 * Answers 401 (`WWW-Authenticate: Bearer realm="api", error="invalid_token", ...`; a bare
 * `Bearer realm="api"` when no token is sent), 400 `invalid_request` for a malformed
 * `Authorization` header, and 503 with `Retry-After` when the keys are unavailable; or hands
 * the error to `next(err)` with `passErrors`.
 */
export function bearerAuth(options: ExpressBearerOptions): ExpressBearerMiddleware {
  const core = createAdapterCore<Request>(options);
  const state: AuthState = { property: options.property ?? 'auth', realm: core.realm, passErrors: core.passErrors };
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    (req as StatefulRequest)[STATE] = state;
    core
      .extract(req, (name) => req.headers[name])
      .then(async (token) => {
        if (typeof token !== 'string') throw token;
        const clientId = core.clientId ? core.clientId(req) : req.ip;
        const { payload } = await core.verifier.verify(token, clientId === undefined ? undefined : { clientId });
        (req as unknown as Record<string, unknown>)[state.property] = payload;
      })
      .then(
        () => next(),
        (err: unknown) => fail(err, res, next, state),
      );
  };
  return Object.assign(middleware, {
    verifier: core.verifier,
    close: async () => {
      if (core.owned) await core.verifier.close();
    },
  });
}

/**
 * A guard after {@link bearerAuth}: 403 `insufficient_scope` (with `scope="..."` in the
 * challenge) unless the token grants every one of `scopes`, read from `scope`
 * (space-separated), `scp` and `permissions`. Uses the property, realm and `passErrors` of
 * the `bearerAuth` that ran before it. Without one, it reads `req.auth` (express-jwt) or
 * `req.user` (passport with `jwks-keeper/passport`) with realm `api`; no payload: 401.
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  const required = checkScopeList(scopes);
  return (req: Request, res: Response, next: NextFunction): void => {
    const state = (req as StatefulRequest)[STATE] ?? DEFAULT_STATE;
    const holder = req as unknown as Record<string, JWTPayload | undefined>;
    // after bearerAuth: its property; after express-jwt: req.auth; after passport: req.user
    const payload = state === DEFAULT_STATE ? (holder.auth ?? holder.user) : holder[state.property];
    const err = scopeError(payload, required, state.realm);
    if (err === undefined) next();
    else fail(err, res, next, state);
  };
}

/** A `/readyz` handler: 200 once keys are loaded, else 503, with the cache's health as JSON. */
export function readinessHandler(target: Verifier | ExpressBearerMiddleware): RequestHandler {
  const probe = readinessProbe('verifier' in target ? target.verifier : target);
  return (_req: Request, res: Response): void => {
    const r: Readiness = probe();
    res.status(r.status).json({ ready: r.ready, state: r.health.state, reasons: r.health.reasons });
  };
}
