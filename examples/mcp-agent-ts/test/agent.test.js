// Runs a real Sigil (SIGIL_BIN) with open dynamic registration and the
// example MCP server (MCP_SERVER_BIN, examples/mcp-server) protected by
// it, then lets the TypeScript SDK's auth() flow find Sigil from the
// server's 401, register, and sign a user in; the test plays the user
// with plain HTTP requests to the hosted sign-in and consent pages.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { MemoryProvider, connect } from '../agent.js';

const children = [];
after(() => { for (const c of children) c.kill('SIGINT'); });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitFor(url) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(bin, args, env) {
  const c = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  return c;
}

async function json(url, body, token) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => ({})) };
}

// A user at a browser, without the browser: a cookie jar, no redirects
// followed, forms posted with their hidden fields.
class User {
  constructor(origin) { this.origin = origin; this.cookies = new Map(); }
  async request(url, form) {
    const headers = { Cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
    let body;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      headers.Origin = this.origin;
      body = new URLSearchParams(form).toString();
    }
    const r = await fetch(url, { method: form ? 'POST' : 'GET', headers, body, redirect: 'manual' });
    for (const c of r.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    return { status: r.status, location: r.headers.get('location'), html: await r.text() };
  }
  static hidden(html) {
    const out = {};
    for (const m of html.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) {
      out[m[1]] = m[2].replaceAll('&amp;', '&').replaceAll('&#34;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
    }
    return out;
  }
  // signIn follows the authorization URL to Sigil's sign-in page, signs
  // in, allows the consent page, and returns the code of the redirect.
  async signIn(authorizationUrl, email, password) {
    let p = await this.request(authorizationUrl.toString());
    while (p.status === 302 || p.status === 303) p = await this.request(new URL(p.location, this.origin).toString());
    assert.equal(p.status, 200, `sign-in page: ${p.status}`);
    p = await this.request(`${this.origin}/login`, { ...User.hidden(p.html), email, password });
    while (p.status === 302 || p.status === 303) {
      if (!p.location.startsWith(this.origin) && !p.location.startsWith('/')) break;
      p = await this.request(new URL(p.location, this.origin).toString());
    }
    if (p.status === 200) {
      assert.match(p.html, /Allow Example TypeScript agent\?/, 'the consent page names the registered client');
      assert.match(p.html, /Example MCP/, 'the consent page names the resource');
      p = await this.request(`${this.origin}/consent`, { ...User.hidden(p.html), consent: 'allow' });
    }
    assert.ok(p.status === 302 || p.status === 303, `after consent: ${p.status} ${p.html.slice(0, 300)}`);
    const back = new URL(p.location);
    assert.equal(back.searchParams.get('iss'), this.origin);
    return back.searchParams.get('code');
  }
}

test('the TypeScript SDK finds Sigil, registers, signs in for the resource and calls a tool', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-mcp-'));
  const [sigilPort, mcpPort] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${sigilPort}`;
  const resource = `http://127.0.0.1:${mcpPort}/mcp`;
  start(process.env.SIGIL_BIN, ['serve'], {
    SIGIL_ADDR: `127.0.0.1:${sigilPort}`, SIGIL_ISSUER: issuer, SIGIL_DATABASE_URL: `sqlite:${join(dir, 'sigil.db')}`,
    SIGIL_ARGON2_MEMORY: '1024', SIGIL_ARGON2_TIME: '1', SIGIL_RATE_LIMIT: '0', SIGIL_LOG_LEVEL: 'warn',
    SIGIL_REGISTRATION: 'open', SIGIL_ADMIN_EMAIL: 'root@example.com', SIGIL_ADMIN_PASSWORD: 'admin password 123',
  });
  await waitFor(`${issuer}/readyz`);
  const admin = await json(`${issuer}/auth/login`, { email: 'root@example.com', password: 'admin password 123' });
  assert.equal(admin.status, 200);
  const res = await json(`${issuer}/admin/resources`, { uri: resource, name: 'Example MCP' }, admin.body.token);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const user = await json(`${issuer}/auth/signup`, { email: 'ada@example.com', password: 'a long password 1', name: 'Ada' });
  assert.equal(user.status, 201, JSON.stringify(user.body));

  start(process.env.MCP_SERVER_BIN, ['-issuer', issuer, '-resource', resource], {});
  await waitFor(`http://127.0.0.1:${mcpPort}/.well-known/oauth-protected-resource/mcp`);

  const provider = new MemoryProvider('http://127.0.0.1:7777/callback');
  const ada = new User(issuer);
  const client = await connect(resource, provider, (u) => ada.signIn(u, 'ada@example.com', 'a long password 1'));

  // What the SDK did on the way: registered, and asked for the resource.
  assert.ok(provider.clientInformation()?.client_id, 'the SDK registered a client');
  assert.equal(new URL(provider.authorizationUrl).searchParams.get('resource'), resource);
  assert.equal(new URL(provider.authorizationUrl).searchParams.get('code_challenge_method'), 'S256');
  const claims = JSON.parse(Buffer.from(provider.tokens().access_token.split('.')[1], 'base64url'));
  assert.equal(claims.aud, resource, 'the access token is for the MCP server alone');

  const tools = await client.listTools();
  assert.deepEqual(tools.tools.map((t) => t.name), ['whoami']);
  const who = await client.callTool({ name: 'whoami', arguments: {} });
  assert.equal(who.structuredContent.subject, user.body.userId);
  assert.equal(who.structuredContent.clientId, provider.clientInformation().client_id);
  await client.close();
});
