import { createJwksCache, fileSnapshotStore } from 'jwks-keeper';

const keys = createJwksCache({
  jwksUri: process.env.JWKS_URI ?? 'https://tenant.example/.well-known/jwks.json',
  persistence: {
    store: fileSnapshotStore(process.env.SNAPSHOT_PATH ?? '/var/lib/my-api/jwks.snapshot'),
    secret: process.env.JWKS_SNAPSHOT_SECRET ?? '', // at least 32 bytes, from your secret store
  },
});

keys.on('persistence.restored', (e) => console.info(`restored ${e.keyCount} keys saved ${Math.round(e.ageMs / 1000)} s ago`));
await keys.ready(); // a restart during an IdP outage is ready from the saved set
console.log(`keys usable: ${keys.health().state !== 'failing'}`); // healthy, or degraded while the IdP is down
await keys.close(); // waits for the last save
