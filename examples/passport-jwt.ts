import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { decodeProtectedHeader } from 'jose';
import type { AddressInfo } from 'node:net';
import { createJwksCache, KeysUnavailableError } from 'jwks-keeper';
import { requireScopes } from 'jwks-keeper/express';

const keys = createJwksCache({ jwksUri: process.env.JWKS_URI ?? 'https://your-tenant.eu.auth0.com/.well-known/jwks.json' });

passport.use(
  new JwtStrategy(
    {
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (req: Request, rawJwt: string, done: (err: unknown, key?: string | Buffer) => void) => {
        let kid: string | undefined;
        try {
          kid = decodeProtectedHeader(rawJwt).kid;
        } catch (err) {
          return done(err);
        }
        keys.getSigningKey(kid, { clientId: req.ip }).then((k) => done(null, k.keyObject.export({ format: 'pem', type: 'spki' })), done);
      },
      algorithms: ['RS256'],
      issuer: process.env.ISSUER ?? 'https://your-tenant.eu.auth0.com/',
      audience: process.env.AUDIENCE ?? 'https://api.example.com',
      passReqToCallback: false,
    },
    (payload: object, done: (err: unknown, user: object) => void) => done(null, payload),
  ),
);

// passport-jwt turns a key-provider error into a 401 failure. With a custom callback the
// error arrives as `info`: hand KeysUnavailableError to next() and it stays a 503 with
// Retry-After (its status and headers are what Express's error handler reads).
function auth(req: Request, res: Response, next: NextFunction): void {
  passport.authenticate('jwt', { session: false }, (err: unknown, user: Express.User | false, info: unknown) => {
    if (err) return next(err);
    if (info instanceof KeysUnavailableError) return next(info);
    if (user) return void ((req.user = user), next());
    const sent = /^Bearer\s+\S/i.test(req.get('authorization') ?? '');
    const description = info instanceof Error ? info.message.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '') : 'invalid token';
    res.status(401).set('WWW-Authenticate', sent ? `Bearer realm="api", error="invalid_token", error_description="${description}"` : 'Bearer realm="api"').end();
  })(req, res, next);
}

const app = express();
app.get('/api/me', auth, (req, res) => void res.json(req.user));
app.get('/api/admin', auth, requireScopes('admin'), (req, res) => void res.json(req.user));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => void keys.close()));
