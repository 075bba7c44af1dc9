// Test helpers: start a real Sigil (bin/sigil, built by `make build`) on a
// free port with a fresh SQLite database, and the example as a process.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../../..');

export const ADMIN = { email: 'root@example.com', password: 'admin password 123' };

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

function sigilBinary() {
  const bin = process.env.SIGIL_BIN ?? join(repoRoot, 'bin', 'sigil');
  if (!existsSync(bin)) execFileSync('go', ['build', '-o', bin, './cmd/sigil'], { cwd: repoRoot, stdio: 'inherit' });
  return bin;
}

async function waitFor(url, child, output) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}):\n${output()}`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer:\n${output()}`);
}

function track(child) {
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return () => out;
}

function stopper(child, cleanup) {
  return async () => {
    if (child.exitCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
    cleanup?.();
  };
}

// startSigil runs `sigil serve` and resolves once /readyz answers 200.
export async function startSigil(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-node-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(sigilBinary(), ['serve'], {
    env: {
      PATH: process.env.PATH,
      SIGIL_ADDR: `127.0.0.1:${port}`,
      SIGIL_ISSUER: base,
      SIGIL_DATABASE_URL: `sqlite:${join(dir, 'sigil.db')}`,
      SIGIL_ARGON2_MEMORY: '1024',
      SIGIL_ARGON2_TIME: '1',
      SIGIL_RATE_LIMIT: '0',
      SIGIL_LOG_LEVEL: 'warn',
      SIGIL_ADMIN_EMAIL: ADMIN.email,
      SIGIL_ADMIN_PASSWORD: ADMIN.password,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = track(child);
  await waitFor(`${base}/readyz`, child, output);
  return { base, issuer: base, stop: stopper(child, () => rmSync(dir, { recursive: true, force: true })) };
}

// startExample runs server.js with the given verifier against issuer.
export async function startExample(verifier, issuer, extraEnv = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(here, '..', 'server.js')], {
    env: { PATH: process.env.PATH, SIGIL_ISSUER: issuer, VERIFIER: verifier, PORT: String(port), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = track(child);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/healthz`, child, output);
  return { base, stop: stopper(child) };
}

export async function postJSON(url, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// userToken signs a new user up and logs them in; it returns the token.
export async function userToken(sigil, email, password = 'a long password 1') {
  const s = await postJSON(`${sigil.base}/auth/signup`, { email, password, name: email.split('@')[0] });
  if (s.status !== 201) throw new Error(`signup ${s.status} ${JSON.stringify(s.body)}`);
  const l = await postJSON(`${sigil.base}/auth/login`, { email, password });
  if (l.status !== 200) throw new Error(`login ${l.status} ${JSON.stringify(l.body)}`);
  return l.body;
}
