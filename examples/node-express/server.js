// Starts the feed API. Configuration from the environment:
//   SIGIL_ISSUER   Sigil's issuer URL (required), e.g. http://127.0.0.1:8080
//   SIGIL_AUDIENCE the aud the tokens must carry (default sigil)
//   SIGIL_JWKS_URI default {issuer}/.well-known/jwks.json
//   VERIFIER       jose (default) or express-jwt
//   PORT           default 3000
import { createApp } from './app.js';

const app = createApp({
  verifier: process.env.VERIFIER ?? 'jose',
  issuer: process.env.SIGIL_ISSUER,
  audience: process.env.SIGIL_AUDIENCE ?? 'sigil',
  jwksUri: process.env.SIGIL_JWKS_URI,
});
const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`feed API (${process.env.VERIFIER ?? 'jose'}) listening on http://${address}:${port}`);
});
