import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { jwksKeeper } from 'jwks-keeper/fastify';

const app = Fastify({ logger: process.env.LOG_LEVEL ? { level: process.env.LOG_LEVEL } : false });
await app.register(jwksKeeper, {
  issuer: process.env.ISSUER ?? 'https://your-tenant.eu.auth0.com/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
  jwksUri: process.env.JWKS_URI ?? 'https://your-tenant.eu.auth0.com/.well-known/jwks.json',
  algorithms: ['RS256'],
  logger: app.log, // the cache's events in Fastify's log
});

app.get('/api/me', { onRequest: app.authenticate }, async (req) => req.auth);
app.get('/api/admin', { onRequest: [app.authenticate, app.requireScopes('admin')] }, async (req) => req.auth);

await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '0.0.0.0' });
console.log(`listening on port ${(app.server.address() as AddressInfo).port}`);
process.on('SIGTERM', () => void app.close()); // closes the verifier too
