// The node side of bench/verify-compare.sh: a node http server answering
// GET /protected with the token's subject, behind jose's
// createRemoteJWKSet + jwtVerify (the key set cached in memory, as jose
// does by default), checking iss, aud and typ at+jwt as Sigil's verify
// does. ISSUER is the Sigil; AUDIENCE defaults to "sigil". It listens on
// 127.0.0.1 only (PORT, default a free port) and prints
// "listening on http://127.0.0.1:PORT" when ready.
import { createServer } from 'node:http';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const issuer = process.env.ISSUER;
if (!issuer) {
  console.error('set ISSUER');
  process.exit(2);
}
const audience = process.env.AUDIENCE || 'sigil';

const discovery = await (await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`)).json();
const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
const options = {
  issuer,
  audience,
  typ: 'at+jwt',
  algorithms: ['RS256', 'ES256', 'EdDSA'],
  clockTolerance: 60,
};

const server = createServer(async (req, res) => {
  if (req.method !== 'GET' || req.url !== '/protected') {
    res.writeHead(404).end();
    return;
  }
  const auth = req.headers.authorization || '';
  if (!auth.startsWith('Bearer ')) {
    res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
    return;
  }
  try {
    const { payload } = await jwtVerify(auth.slice(7), jwks, options);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ sub: payload.sub }) + '\n');
  } catch {
    res.writeHead(401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' }).end();
  }
});
server.keepAliveTimeout = 90_000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
