import { createVerifier } from 'jwks-keeper';
import type { Logger } from 'jwks-keeper';

// pino, Fastify's `app.log` and bunyan fit as they are; console needs its arguments swapped
const logger: Logger = {
  debug: () => {},
  info: (obj, msg) => console.info(msg, obj),
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

const verifier = createVerifier({
  issuer: process.env.ISSUER ?? 'https://tenant.example/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
  jwksUri: process.env.JWKS_URI ?? 'https://tenant.example/.well-known/jwks.json',
  logger, // refreshes, rotations, first use of a key, outages
});

await verifier.keys.ready();
await verifier.close();
