import { jwtVerify } from 'jose';
import { createJwksCache } from 'jwks-keeper';

const issuer = process.env.ISSUER ?? 'https://tenant.example/';
const audience = process.env.AUDIENCE ?? 'https://api.example.com';
const keys = createJwksCache({ jwksUri: process.env.JWKS_URI ?? 'https://tenant.example/.well-known/jwks.json' });

keys.on('keys.changed', (e) => {
  if (e.initial) console.info(`JWKS loaded: ${e.added.length} keys`); // the boot, not a rotation
  else console.info('JWKS rotated', { added: e.added, removed: e.removed, replaced: e.replaced });
});
keys.on('key.firstUsed', (e) => console.info('a signing key is now in use', { kid: e.kid }));

await keys.ready(); // resolves once a usable key set is loaded
const { payload } = await jwtVerify(process.argv[2] ?? '', keys.getKey, { issuer, audience, algorithms: ['RS256'] });
console.log(`valid token for ${payload.sub}; cache ${keys.health().state}, ${keys.snapshot()?.keys.length} keys`);
await keys.close();
