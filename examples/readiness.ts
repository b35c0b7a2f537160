import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, readinessProbe } from 'jwks-keeper';

const verifier = createVerifier({
  issuer: process.env.ISSUER ?? 'https://tenant.example/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
  jwksUri: process.env.JWKS_URI ?? 'https://tenant.example/.well-known/jwks.json',
});
const readiness = readinessProbe(verifier);

// Load the keys before taking traffic. If the IdP is down, start anyway: the cache retries
// in the background and /readyz answers 503 until the keys are loaded.
await verifier.keys.ready().catch((err: unknown) => console.warn('JWKS not loaded yet:', (err as Error).message));

const server = createServer((req, res) => {
  if (req.url === '/healthz') return void res.end('ok'); // liveness: the process answers
  if (req.url === '/readyz') {
    const r = readiness(); // readiness: keys loaded and not expired
    return void res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.health));
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  console.log(`listening on port ${(server.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => server.close(() => void verifier.close()));
