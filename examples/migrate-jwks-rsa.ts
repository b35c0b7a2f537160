// Before: import jwksClient from 'jwks-rsa';
import jwksClient from 'jwks-keeper/jwks-rsa';

const client = jwksClient({
  jwksUri: 'https://idp.example.com/.well-known/jwks.json',
});

/** The PEM public key for a token's `kid`, exactly as jwks-rsa returned it. */
export async function publicKeyFor(kid: string): Promise<string> {
  const key = await client.getSigningKey(kid);
  return key.getPublicKey();
}
