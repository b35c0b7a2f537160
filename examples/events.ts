import { createJwksCache } from 'jwks-keeper';

const keys = createJwksCache({ jwksUri: process.env.JWKS_URI ?? 'https://tenant.example/.well-known/jwks.json' });

const failures = new Map<string, number>(); // your metrics client here
const off = keys.on('refresh.failed', (e) => failures.set(e.code, (failures.get(e.code) ?? 0) + 1));
keys.on('refresh.succeeded', (e) => console.log(`JWKS fetched in ${Math.round(e.durationMs)} ms, generation ${e.generation}`));

await keys.ready();
console.log(keys.stats().fetches, 'fetch;', keys.health().state, failures.size, 'failure codes');
off(); // unsubscribe
await keys.close();
