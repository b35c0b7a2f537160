/**
 * `jwks-keeper/discovery`: OIDC discovery (and RFC 8414 as fallback). `issuer` alone is
 * enough: `createDiscoveredVerifier({ issuer, audience })` finds the JWKS URL in the issuer's
 * well-known document, compares the document's `issuer` exactly, and fetches it through the
 * same hard-limited transport as the key set.
 *
 * @packageDocumentation
 */
export { createDiscovery, discoveryUrls } from './document.js';
export type { Discovery, DiscoveryDocument, DiscoveryOptions } from './document.js';
export { createDiscoveredVerifier } from './verifier.js';
export type { DiscoveredVerifier, DiscoveredVerifierOptions } from './verifier.js';
