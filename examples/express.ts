import express from 'express';
import type { AddressInfo } from 'node:net';
import { bearerAuth, readinessHandler, requireScopes } from 'jwks-keeper/express';

const auth = bearerAuth({
  issuer: process.env.ISSUER ?? 'https://your-tenant.eu.auth0.com/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
  jwksUri: process.env.JWKS_URI ?? 'https://your-tenant.eu.auth0.com/.well-known/jwks.json',
  algorithms: ['RS256'],
});

const app = express();
app.get('/api/me', auth, (req, res) => void res.json(req.auth));
app.get('/api/admin', auth, requireScopes('admin'), (req, res) => void res.json(req.auth));
app.get('/readyz', readinessHandler(auth));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => void auth.close()));
