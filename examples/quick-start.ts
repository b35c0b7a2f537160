import { createVerifier, isVerifyError } from 'jwks-keeper';

const verifier = createVerifier({
  issuer: process.env.ISSUER ?? 'https://your-tenant.eu.auth0.com/',
  audience: process.env.AUDIENCE ?? 'https://api.example.com',
  jwksUri: process.env.JWKS_URI ?? 'https://your-tenant.eu.auth0.com/.well-known/jwks.json',
  algorithms: ['RS256'],
});

const token = process.argv[2] ?? '';
try {
  // the type argument describes your claims (nothing beyond the verifier's rules is checked)
  const { payload } = await verifier.verify<{ sub: string; scope?: string }>(token, { clientId: '203.0.113.7' });
  console.log(`valid token for ${payload.sub}, scope: ${payload.scope ?? '-'}`);
} catch (err) {
  if (!isVerifyError(err)) throw err;
  if (err.httpStatus === 503) console.log(`keys unavailable (${err.code}): answer 503, Retry-After ${err.retryAfterMs ?? '?'} ms`);
  else console.log(`invalid token (${err.code}): answer 401`);
} finally {
  await verifier.close();
}
