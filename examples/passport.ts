import express from 'express';
import passport from 'passport';
import type { AddressInfo } from 'node:net';
import { requireScopes } from 'jwks-keeper/express';
import { BearerStrategy } from 'jwks-keeper/passport';

const strategy = new BearerStrategy({
  issuer: process.env.ISSUER ?? 'https://your-tenant.eu.auth0.com/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
  jwksUri: process.env.JWKS_URI ?? 'https://your-tenant.eu.auth0.com/.well-known/jwks.json',
  algorithms: ['RS256'],
});
passport.use(strategy); // invalid token: 401 challenge; keys unavailable: next(err) -> 503 + Retry-After

const app = express();
const auth = passport.authenticate('jwks-keeper', { session: false });
app.get('/api/me', auth, (req, res) => void res.json(req.user));
app.get('/api/admin', auth, requireScopes('admin'), (req, res) => void res.json(req.user));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => void strategy.close()));
