/**
 * passport strategy (`jwks-keeper/passport`) that keeps the 401/503 split: an invalid or
 * missing token fails the strategy (`this.fail(challenge, 401)`, passport answers 401 with
 * the `WWW-Authenticate` challenge), while unavailable keys are an error (`this.error(err)`,
 * passport calls `next(err)` and the error's `status` 503 and `Retry-After` header reach the
 * response through Express's error handling). passport-jwt turns both into 401.
 *
 * ```ts
 * passport.use(new BearerStrategy({ issuer, audience, jwksUri, algorithms: ['RS256'] }));
 * app.get('/api/me', passport.authenticate('jwks-keeper', { session: false }), handler);
 * ```
 */
import passport from 'passport';
import type { Request } from 'express';
import type { JWTPayload } from 'jose';
import { BearerRequestError, TokenInvalidError, bearerChallenge } from '../errors.js';
import type { Verifier } from '../verify/verifier.js';
import type { AdapterOptions } from './http.js';
import { createAdapterCore } from './http.js';

export { scopesOf, readinessProbe } from './http.js';
export type { AdapterOptions, BearerAdapterOptions, TokenSourceOptions } from './http.js';

/** Options of {@link BearerStrategy}: the verifier's options (or `verifier`), the shared adapter options (`passErrors` does not apply), and `name`. */
export type BearerStrategyOptions = AdapterOptions<Request> & {
  /** The strategy name for `passport.authenticate(name)`. Default: `'jwks-keeper'`. */
  name?: string;
};

/**
 * Maps a verified payload to passport's user. Return a falsy value to refuse the token
 * (401 `invalid_token`). Default: the payload itself. A rejection is passed to `next(err)`.
 */
export type BearerUserMapper = (payload: JWTPayload, req: Request) => unknown;

/** passport strategy verifying bearer tokens with jwks-keeper. */
export class BearerStrategy extends passport.Strategy {
  /** The strategy name (default `'jwks-keeper'`). */
  override name: string;
  /** The verifier (created from the options, or the one given). */
  readonly verifier: Verifier;
  // Not #private: passport calls authenticate() on Object.create(strategy).
  private readonly core: ReturnType<typeof createAdapterCore<Request>>;
  private readonly toUser: BearerUserMapper | undefined;

  constructor(options: BearerStrategyOptions, toUser?: BearerUserMapper) {
    super();
    this.core = createAdapterCore<Request>(options);
    this.verifier = this.core.verifier;
    this.name = options.name ?? 'jwks-keeper';
    this.toUser = toUser;
  }

  /** Close the verifier if the strategy created it. */
  async close(): Promise<void> {
    if (this.core.owned) await this.core.verifier.close();
  }

  /** Called by passport for each request. @internal */
  override authenticate(req: Request): void {
    const core = this.core;
    const run = async (): Promise<void> => {
      const token = await core.extract(req, (name) => req.headers[name]);
      if (typeof token !== 'string') {
        this.fail(bearerChallenge(token, core.realm), token.httpStatus);
        return;
      }
      const clientId = core.clientId ? core.clientId(req) : req.ip;
      let payload: JWTPayload;
      try {
        payload = (await core.verifier.verify(token, clientId === undefined ? undefined : { clientId })).payload;
      } catch (err) {
        if (err instanceof TokenInvalidError || err instanceof BearerRequestError) this.fail(bearerChallenge(err, core.realm), 401);
        else this.error(err as Error); // KeysUnavailableError: next(err), answered 503 + Retry-After
        return;
      }
      const user = this.toUser ? await this.toUser(payload, req) : payload;
      if (!user) this.fail(bearerChallenge(new TokenInvalidError('CLAIM_INVALID', 'token refused by the user mapper'), core.realm), 401);
      else this.success(user as Express.User);
    };
    run().catch((err: unknown) => this.error(err as Error));
  }
}
