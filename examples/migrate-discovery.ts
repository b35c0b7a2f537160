import { createDiscoveredVerifier } from 'jwks-keeper/discovery';

// `issuer` alone: the JWKS URL comes from https://acme.eu.auth0.com/.well-known/openid-configuration
// (RFC 8414's oauth-authorization-server as fallback); the document's issuer must match exactly.
export const verifier = createDiscoveredVerifier({
  issuer: 'https://acme.eu.auth0.com/',
  audience: 'api://orders',
});
