// Drives both verifier variants of the example against a real Sigil: the
// feed answers 200/201/204 to valid access tokens, 401 to missing, forged,
// wrong-audience and shared-secret tokens, 403 to another user's delete.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { startSigil, startExample, postJSON, userToken, ADMIN } from './sigil.js';

let sigil;
before(async () => {
  sigil = await startSigil();
});
after(async () => {
  await sigil?.stop();
});

const get = (url, token) => fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

for (const verifier of ['jose', 'express-jwt']) {
  test(`feed API with ${verifier} against a real Sigil`, async (t) => {
    const app = await startExample(verifier, sigil.issuer);
    t.after(() => app.stop());
    const ada = await userToken(sigil, `ada-${verifier}@example.com`);
    const bob = await userToken(sigil, `bob-${verifier}@example.com`);
    const admin = (await postJSON(`${sigil.base}/auth/login`, ADMIN)).body.token;

    await t.test('no token: 401 with WWW-Authenticate', async () => {
      const r = await get(`${app.base}/feed/posts`);
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate'), /^Bearer/);
    });

    await t.test('a valid access token: 200, the claims reach the handler', async () => {
      const r = await get(`${app.base}/feed/posts`, ada.token);
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.equal(body.viewer.userId, ada.userId);
      assert.equal(body.viewer.email, `ada-${verifier}@example.com`);
    });

    await t.test('create, 403 for another user, 204 for the creator and an admin', async () => {
      const c = await postJSON(`${app.base}/feed/post`, { title: 'Hello', content: 'first post' }, ada.token);
      assert.equal(c.status, 201);
      const id = c.body.post.id;
      assert.equal(c.body.post.creator, ada.userId);
      const del = (token) => fetch(`${app.base}/feed/post/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
      assert.equal((await del(bob.token)).status, 403);
      assert.equal((await del(ada.token)).status, 204);
      const c2 = await postJSON(`${app.base}/feed/post`, { title: 'Again', content: 'x' }, bob.token);
      assert.equal(c2.status, 201);
      assert.equal((await fetch(`${app.base}/feed/post/${c2.body.post.id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${admin}` } })).status, 204);
    });

    await t.test('a tampered token: 401', async () => {
      const [h, p, s] = ada.token.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url'));
      claims.roles = ['admin'];
      const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
      assert.equal((await get(`${app.base}/feed/posts`, forged)).status, 401);
    });

    await t.test("the tutorial's shared-secret token: 401", async () => {
      const hs = await new SignJWT({ email: 'ada@example.com', userId: ada.userId })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
        .setIssuer(sigil.issuer).setAudience('sigil').setSubject(ada.userId).setIssuedAt().setExpirationTime('1h')
        .sign(new TextEncoder().encode('Asecretkey'));
      assert.equal((await get(`${app.base}/feed/posts`, hs)).status, 401);
    });

    await t.test('a Sigil token for another audience: 401', async () => {
      const c = await postJSON(`${sigil.base}/admin/clients`, { name: `billing-${verifier}`, scopes: ['invoices'], audience: 'billing' }, admin);
      assert.equal(c.status, 201, JSON.stringify(c.body));
      const r = await fetch(`${sigil.base}/oauth2/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: c.body.clientId, client_secret: c.body.clientSecret }),
      });
      assert.equal(r.status, 200);
      const { access_token } = await r.json();
      assert.equal((await get(`${app.base}/feed/posts`, access_token)).status, 401);
    });

  });
}
