// Checks the verifiers' rules one at a time with an issuer the test controls
// (its own RSA key and JWKS): only a token that passes every rule gets 200.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { createApp } from '../app.js';

let issuer, jwksServer, rsa, other;
before(async () => {
  // Node KeyObjects, so that the same RSA key can also sign PS256.
  rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwksServer = createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${jwksServer.address().port}`;
});
after(() => jwksServer?.close());

function token({ header = {}, claims = {}, key = rsa.privateKey, exp = '5m' } = {}) {
  return new SignJWT({ email: 'ada@example.com', roles: [], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt', ...header })
    .setIssuer(claims.iss ?? issuer)
    .setAudience(claims.aud ?? 'sigil')
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(key);
}

for (const verifier of ['jose', 'express-jwt']) {
  test(`${verifier}: each rule rejects on its own`, async (t) => {
    const app = createApp({ verifier, issuer });
    const srv = await new Promise((r) => {
      const s = app.listen(0, '127.0.0.1', () => r(s));
    });
    t.after(() => srv.close());
    const base = `http://127.0.0.1:${srv.address().port}`;
    const status = async (tok) => (await fetch(`${base}/feed/posts`, { headers: { Authorization: `Bearer ${tok}` } })).status;

    assert.equal(await status(await token()), 200, 'a token that follows every rule');
    assert.equal(await status(await token({ header: { typ: 'JWT' } })), 401, 'typ JWT (an ID token) is not an access token');
    assert.equal(await status(await token({ header: { alg: 'PS256' } })), 401, 'an alg other than the key\'s');
    assert.equal(await status(await token({ claims: { iss: 'http://evil.example' } })), 401, 'another issuer');
    assert.equal(await status(await token({ claims: { aud: 'billing' } })), 401, 'another audience');
    assert.equal(await status(await token({ key: other.privateKey })), 401, 'signed by a key not in the JWKS');
    assert.equal(await status(await token({ header: { kid: 'unknown' } })), 401, 'an unknown kid');
    assert.equal(await status(await token({ exp: '-5m' })), 401, 'expired beyond the leeway');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'k1' })).toString('base64url') + '.' +
      Buffer.from(JSON.stringify({ iss: issuer, aud: 'sigil', sub: 'x', exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url') + '.';
    assert.equal(await status(none), 401, 'alg none');
  });
}
