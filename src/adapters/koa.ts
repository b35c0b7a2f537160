/**
 * Koa adapter (`jwks-keeper/koa`): a middleware that verifies the bearer token and puts its
 * payload on `ctx.state.auth`, answering RFC 6750 challenges, and a scope guard.
 *
 * ```ts
 * const auth = bearerAuth({ issuer, audience, jwksUri, algorithms: ['RS256'] });
 * router.get('/api/me', auth, (ctx) => { ctx.body = ctx.state.auth; });
 * ```
 *
 * Koa 2 and 3 (types from `@types/koa`). Uses only the public API.
 */
import type { Context, Middleware, Next } from 'koa';
import type { JWTPayload } from 'jose';
import type { Verifier } from '../verify/verifier.js';
import type { AdapterOptions, BearerAnswer } from './http.js';
import { answerFor, checkScopeList, createAdapterCore, readinessProbe, scopeError } from './http.js';

export { readinessProbe, scopesOf } from './http.js';
export type { AdapterOptions, BearerAdapterOptions, BearerAnswer, Readiness, TokenSourceOptions } from './http.js';

/** Options of {@link bearerAuth}: the verifier's options (or `verifier`), the shared adapter options, and `stateKey`. */
export type KoaBearerOptions = AdapterOptions<Context> & {
  /** The `ctx.state` key that receives the verified payload. Default: `'auth'` (koa-jwt uses `user`). */
  stateKey?: string;
};

/** The middleware, with the verifier it uses. */
export interface KoaBearerMiddleware extends Middleware {
  /** The verifier (created from the options, or the one given). */
  readonly verifier: Verifier;
  /** Close the verifier if the middleware created it. */
  close(): Promise<void>;
}

interface AuthState {
  stateKey: string;
  realm: string;
  passErrors: boolean;
}

const STATE = Symbol.for('jwks-keeper.koa');

type StatefulContext = Context & { [STATE]?: AuthState };

function send(ctx: Context, a: BearerAnswer): void {
  ctx.status = a.status;
  ctx.set(a.headers);
  ctx.body = a.body;
}

function fail(err: unknown, ctx: Context, state: AuthState): void {
  const a = state.passErrors ? undefined : answerFor(err, state.realm);
  if (a === undefined) throw err; // Koa's error handling reads status, headers and expose
  send(ctx, a);
}

/**
 * Verify the request's bearer token and put the payload on `ctx.state[stateKey]`, then call
 * `next()`. Answers 400/401/503 as the Express adapter does, or throws the error with
 * `passErrors` (Koa's default handler answers its `status`, `headers` and, when `expose`,
 * its message).
 */
export function bearerAuth(options: KoaBearerOptions): KoaBearerMiddleware {
  const core = createAdapterCore<Context>(options);
  const state: AuthState = { stateKey: options.stateKey ?? 'auth', realm: core.realm, passErrors: core.passErrors };
  const middleware = async (ctx: Context, next: Next): Promise<void> => {
    (ctx as StatefulContext)[STATE] = state;
    let payload: JWTPayload;
    try {
      const token = await core.extract(ctx, (name) => ctx.req.headers[name]);
      if (typeof token !== 'string') throw token;
      const clientId = core.clientId ? core.clientId(ctx) : ctx.ip;
      payload = (await core.verifier.verify(token, clientId === undefined ? undefined : { clientId })).payload;
    } catch (err) {
      fail(err, ctx, state);
      return;
    }
    (ctx.state as Record<string, unknown>)[state.stateKey] = payload;
    await next();
  };
  return Object.assign(middleware, {
    verifier: core.verifier,
    close: async () => {
      if (core.owned) await core.verifier.close();
    },
  });
}

/**
 * A guard after {@link bearerAuth}: 403 `insufficient_scope` unless the token grants every
 * one of `scopes` (`scope`, `scp`, `permissions`). Uses the state key, realm and
 * `passErrors` of the `bearerAuth` that ran before it; without one, 401.
 */
export function requireScopes(...scopes: string[]): Middleware {
  const required = checkScopeList(scopes);
  return async (ctx: Context, next: Next): Promise<void> => {
    const state = (ctx as StatefulContext)[STATE] ?? { stateKey: 'auth', realm: 'api', passErrors: false };
    const payload = (ctx.state as Record<string, unknown>)[state.stateKey] as JWTPayload | undefined;
    const err = scopeError(payload, required, state.realm);
    if (err !== undefined) {
      fail(err, ctx, state);
      return;
    }
    await next();
  };
}

/** A `/readyz` middleware: 200 once keys are loaded, else 503 (see `readinessProbe`). */
export function readinessHandler(target: Verifier | KoaBearerMiddleware): Middleware {
  const probe = readinessProbe('verifier' in target ? target.verifier : target);
  return (ctx: Context): void => {
    const r = probe();
    ctx.status = r.status;
    ctx.body = { ready: r.ready, state: r.health.state, reasons: r.health.reasons };
  };
}
