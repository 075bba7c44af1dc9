// Verification with jose: the JWKS is fetched from Sigil and cached, a
// token's key is chosen by its kid, and the key's own alg must match the
// token's. This replaces jwt.verify(token, 'Asecretkey').
import { createRemoteJWKSet, jwtVerify, errors } from 'jose';

export const ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];

export function joseVerifier({ issuer, audience, jwksUri }) {
  const jwks = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 5 * 60_000 });
  return async function requireToken(req, res, next) {
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(req.get('authorization') ?? '');
    if (!m) return unauthorized(res, 'a Bearer access token is required');
    try {
      const { payload } = await jwtVerify(m[1], jwks, {
        issuer,
        audience,
        typ: 'at+jwt', // an ID token (typ JWT) is not an access token
        algorithms: ALGORITHMS, // never none or HMAC
        clockTolerance: 60,
      });
      req.auth = payload;
      next();
    } catch (err) {
      if (err instanceof errors.JWKSTimeout || !(err instanceof errors.JOSEError)) {
        // Sigil could not be reached: not the caller's fault.
        return res.status(503).set('Retry-After', '5').json({ message: 'cannot fetch the signing keys' });
      }
      unauthorized(res, 'invalid token');
    }
  };
}

export function unauthorized(res, message) {
  res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
  res.status(401).json({ message });
}
