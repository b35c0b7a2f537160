import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { bearerAuth, requireScopes } from 'jwks-keeper/koa';

const auth = bearerAuth({
  issuer: process.env.ISSUER ?? 'https://your-tenant.eu.auth0.com/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
  jwksUri: process.env.JWKS_URI ?? 'https://your-tenant.eu.auth0.com/.well-known/jwks.json',
  algorithms: ['RS256'],
});
const admin = requireScopes('admin');

const app = new Koa();
app.use(auth); // ctx.state.auth
app.use((ctx, next) => (ctx.path === '/api/admin' ? admin(ctx, next) : next()));
app.use((ctx) => void (ctx.body = ctx.state.auth));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => void auth.close()));
