// createApp wires the feed API behind one of the two verifiers.
import express from 'express';
import { feedRouter } from './feed.js';
import { joseVerifier, unauthorized } from './verify-jose.js';
import { expressJwtVerifier } from './verify-express-jwt.js';

export function createApp({ verifier = 'jose', issuer, audience = 'sigil', jwksUri }) {
  if (!issuer) throw new Error('issuer is required');
  jwksUri ??= new URL('/.well-known/jwks.json', issuer.endsWith('/') ? issuer : issuer + '/').href;
  const opts = { issuer, audience, jwksUri };
  let requireToken;
  if (verifier === 'jose') requireToken = joseVerifier(opts);
  else if (verifier === 'express-jwt') requireToken = expressJwtVerifier(opts);
  else throw new Error(`unknown verifier ${verifier} (jose, express-jwt)`);

  const app = express();
  app.get('/healthz', (req, res) => res.send('ok'));
  app.use('/feed', requireToken, feedRouter());
  // express-jwt reports a bad or missing token as an UnauthorizedError.
  app.use((err, req, res, next) => {
    if (err?.name === 'UnauthorizedError') return unauthorized(res, 'invalid token');
    next(err);
  });
  return app;
}
