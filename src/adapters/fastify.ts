/**
 * Fastify adapter (`jwks-keeper/fastify`): a plugin (built with `fastify-plugin`, so its
 * decorators reach the app) adding `fastify.authenticate` for `onRequest` hooks,
 * `fastify.requireScopes(...)`, and `request.auth` (typed by declaration merging). The
 * verifier the plugin creates is closed in `onClose`.
 *
 * ```ts
 * await app.register(jwksKeeper, { issuer, audience, jwksUri, algorithms: ['RS256'] });
 * app.get('/api/me', { onRequest: app.authenticate }, async (req) => req.auth);
 * app.get('/api/admin', { onRequest: [app.authenticate, app.requireScopes('admin')] }, handler);
 * ```
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import type { Verifier } from '../verify/verifier.js';
import type { AdapterOptions, BearerAnswer } from './http.js';
import { answerFor, checkScopeList, createAdapterCore, readinessProbe, scopeError } from './http.js';

export { readinessProbe, scopesOf } from './http.js';
export type { AdapterOptions, BearerAdapterOptions, BearerAnswer, Readiness, TokenSourceOptions } from './http.js';

/** An `onRequest`/`preHandler` hook added by the plugin. */
export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified token's payload, set by `fastify.authenticate`; undefined before it ran. */
    auth: JWTPayload | undefined;
  }
  interface FastifyInstance {
    /** Hook verifying the bearer token (RFC 6750 answers: 400/401/503). */
    authenticate: AuthHook;
    /** Hook after `authenticate`: 403 `insufficient_scope` unless the token grants every scope. */
    requireScopes: (...scopes: string[]) => AuthHook;
    /** The plugin's verifier. */
    jwksVerifier: Verifier;
  }
}

/** Options of the plugin: the verifier's options (or `verifier`) and the shared adapter options. */
export type FastifyBearerOptions = AdapterOptions<FastifyRequest>;

function send(reply: FastifyReply, a: BearerAnswer): FastifyReply {
  return reply.code(a.status).headers(a.headers).send(a.body);
}

const plugin: FastifyPluginAsync<FastifyBearerOptions> = async (fastify: FastifyInstance, options: FastifyBearerOptions) => {
  const core = createAdapterCore<FastifyRequest>(options);
  const { realm, passErrors } = core;
  // Answer, or throw to the app's error handler (which reads statusCode and headers).
  const fail = (err: unknown, reply: FastifyReply): void => {
    const a = passErrors ? undefined : answerFor(err, realm);
    if (a === undefined) throw err;
    send(reply, a);
  };

  fastify.decorateRequest('auth', undefined);
  fastify.decorate('jwksVerifier', core.verifier);
  fastify.decorate('authenticate', async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      const token = await core.extract(request, (name) => request.headers[name]);
      if (typeof token !== 'string') throw token;
      const clientId = core.clientId ? core.clientId(request) : request.ip;
      request.auth = (await core.verifier.verify(token, clientId === undefined ? undefined : { clientId })).payload;
    } catch (err) {
      fail(err, reply);
    }
  });
  fastify.decorate('requireScopes', (...scopes: string[]): AuthHook => {
    const required = checkScopeList(scopes);
    return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const err = scopeError(request.auth, required, realm);
      if (err !== undefined) fail(err, reply);
    };
  });
  fastify.addHook('onClose', async () => {
    if (core.owned) await core.verifier.close();
  });
};

/**
 * The plugin. Register once per verifier: `app.register(jwksKeeper, options)`. Decorates
 * the instance with `authenticate`, `requireScopes` and `jwksVerifier`, and requests with
 * `auth`.
 */
export const jwksKeeper = fp(plugin, { fastify: '4.x || 5.x', name: 'jwks-keeper' });
export default jwksKeeper;

/** A `/readyz` handler: 200 once keys are loaded, else 503 (see `readinessProbe`). */
export function readinessHandler(target: Verifier): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const probe = readinessProbe(target);
  return async (_request, reply) => {
    const r = probe();
    reply.code(r.status).send({ ready: r.ready, state: r.health.state, reasons: r.health.reasons });
  };
}
