import express from 'express';
// Before: import { auth, requiredScopes } from 'express-oauth2-jwt-bearer';
import { bearerAuth, requireScopes } from 'jwks-keeper/express';

// Before: auth({ issuerBaseURL: 'https://idp.example.com/', audience: 'api://orders' })
// The JWKS URL comes from the issuer's discovery document, as with express-oauth2-jwt-bearer.
export const checkJwt = bearerAuth({ issuer: process.env.ISSUER ?? 'https://idp.example.com/', audience: 'api://orders' });

export const app = express();
// Before: app.get('/orders', checkJwt, requiredScopes('read:orders'), ...); claims on req.auth.payload
app.get('/orders', checkJwt, requireScopes('read:orders'), (req, res) => void res.json({ sub: req.auth?.sub }));
