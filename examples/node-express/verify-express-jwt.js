// Verification with express-jwt and jwks-rsa, the pair many existing
// Express apps already use: jwks-rsa fetches and caches Sigil's JWKS and
// picks the key by kid; the secret callback also insists that the token's
// alg is the key's alg and that its typ is at+jwt.
import { expressjwt, UnauthorizedError } from 'express-jwt';
import jwksRsa from 'jwks-rsa';

// jsonwebtoken, under express-jwt, verifies RSA and ECDSA signatures; use
// the jose variant for EdDSA keys.
export const ALGORITHMS = ['RS256', 'ES256'];

export function expressJwtVerifier({ issuer, audience, jwksUri }) {
  const client = jwksRsa({ jwksUri, cache: true, cacheMaxAge: 5 * 60_000, rateLimit: true, jwksRequestsPerMinute: 10 });
  const reject = (message) => new UnauthorizedError('invalid_token', { message });
  return expressjwt({
    secret: async (req, token) => {
      if (token?.header?.typ?.toLowerCase() !== 'at+jwt') throw reject('not an access token');
      let key;
      try {
        key = await client.getSigningKey(token.header.kid);
      } catch {
        throw reject('unknown signing key');
      }
      if (key.alg && key.alg !== token.header.alg) throw reject('alg does not match the key');
      return key.getPublicKey();
    },
    algorithms: ALGORITHMS,
    issuer,
    audience,
    clockTolerance: 60,
  });
}
