import { createMultiIssuerVerifier } from 'jwks-keeper/multi';

// One verifier for several issuers: the unverified `iss` only picks among these; anything else
// is refused (ISSUER_NOT_ALLOWED) before any key lookup. No jwksUri: found by OIDC discovery.
export const verifier = createMultiIssuerVerifier({
  issuers: [
    { issuer: 'https://acme.eu.auth0.com/', audience: 'api://orders' },
    {
      issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
      tenants: ['8eaef023-2b34-4da1-9baa-8bc8c9d6a490'],
      audience: 'api://orders',
      jwksUri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys',
    },
  ],
});
