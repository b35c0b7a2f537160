import { jwtVerify } from 'jose';
// Before: import { createRemoteJWKSet } from 'jose';
import { createRemoteJWKSet } from 'jwks-keeper/jose';

const JWKS = createRemoteJWKSet(new URL('https://idp.example.com/.well-known/jwks.json'));

/** jose's own jwtVerify, unchanged; errors stay jose's classes (errors.JWKSNoMatchingKey …). */
export async function verify(token: string) {
  const { payload } = await jwtVerify(token, JWKS, {
    issuer: 'https://idp.example.com/',
    audience: 'api://orders',
  });
  return payload;
}
