import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
// Before: import { passportJwtSecret } from 'jwks-rsa';
import { passportJwtSecret } from 'jwks-keeper/jwks-rsa';

passport.use(
  new JwtStrategy(
    {
      secretOrKeyProvider: passportJwtSecret({
        jwksUri: 'https://idp.example.com/.well-known/jwks.json',
        rateLimit: true,
      }),
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      audience: 'api://orders',
      issuer: 'https://idp.example.com/',
      algorithms: ['RS256'],
    },
    (payload: { sub: string }, done: (err: unknown, user?: unknown) => void) => done(null, payload),
  ),
);

export { passport };
