import express from 'express';
import { expressjwt } from 'express-jwt';
// Before: import { expressJwtSecret } from 'jwks-rsa';
import { expressJwtSecret } from 'jwks-keeper/jwks-rsa';

export const app = express();

app.use(
  expressjwt({
    secret: expressJwtSecret({
      jwksUri: 'https://idp.example.com/.well-known/jwks.json',
      rateLimit: true,
    }),
    audience: 'api://orders',
    issuer: 'https://idp.example.com/',
    algorithms: ['RS256'],
  }),
);
