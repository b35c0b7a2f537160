import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { AddressInfo } from 'node:net';
import { expressjwt, UnauthorizedError } from 'express-jwt';
import { createJwksCache, TokenInvalidError } from 'jwks-keeper';
import { requireScopes } from 'jwks-keeper/express';

const keys = createJwksCache({ jwksUri: process.env.JWKS_URI ?? 'https://your-tenant.eu.auth0.com/.well-known/jwks.json' });

const auth = expressjwt({
  // express-jwt 8 calls secret(req, token) with the decoded token ({ header, payload }) and wants the key
  secret: async (req, token) => {
    if (!token) throw new TokenInvalidError('TOKEN_MALFORMED', 'not a JWT');
    return (await keys.getSigningKey(token.header.kid, { clientId: req.ip })).keyObject;
  },
  algorithms: ['RS256'],
  issuer: process.env.ISSUER ?? 'https://your-tenant.eu.auth0.com/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
});

const app = express();
app.get('/api/me', auth, (req, res) => void res.json(req.auth));
app.get('/api/admin', auth, requireScopes('admin'), (req, res) => void res.json(req.auth));

// express-jwt's errors as RFC 6750 answers. jwks-keeper's errors (503 when the keys are
// unavailable, 401 for an unknown kid) carry status and headers: Express's handler uses them.
app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
  if (!(err instanceof UnauthorizedError)) return next(err);
  if (err.code === 'credentials_bad_format') return void res.status(400).set('WWW-Authenticate', 'Bearer realm="api", error="invalid_request"').end();
  if (err.code === 'credentials_required' || err.code === 'credentials_bad_scheme') return void res.status(401).set('WWW-Authenticate', 'Bearer realm="api"').end();
  const description = err.message.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '');
  res.status(401).set('WWW-Authenticate', `Bearer realm="api", error="invalid_token", error_description="${description}"`).end();
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => void keys.close()));
