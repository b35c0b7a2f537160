import Fastify from 'fastify';
// Before: import fastifyJwt from '@fastify/jwt'; import buildGetJwks from 'get-jwks';
//   app.register(fastifyJwt, { decode: { complete: true }, secret: (req, token) => getJwks.getPublicKey(...) })
//   app.addHook('onRequest', (req) => req.jwtVerify())
import { jwksKeeper } from 'jwks-keeper/fastify';

export const app = Fastify();
await app.register(jwksKeeper, { issuer: process.env.ISSUER ?? 'https://idp.example.com/', audience: 'api://orders' });
// Before: claims on request.user; now on request.auth, typed
app.get('/orders', { onRequest: app.authenticate }, async (req) => ({ sub: req.auth?.sub }));
