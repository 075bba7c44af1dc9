"""Drives resource_server.py against a real Sigil (bin/sigil on a free port,
fresh SQLite database): 200 for a user's token, 403 for a user without the
admin role, 200 for an admin, 401 for missing, tampered, shared-secret and
wrong-audience tokens, and for a token whose key was revoked in Sigil.

    python3 -m unittest discover -s examples/python -v
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import jwt

import resource_server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ADMIN = ("root@example.com", "admin password 123")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, token=None, form=False):
    headers = {}
    data = None
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return e.code, parsed, e.headers


class SigilResourceServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("SIGIL_BIN", os.path.join(ROOT, "bin", "sigil"))
        if not os.path.exists(binary):
            subprocess.run(["go", "build", "-o", binary, "./cmd/sigil"], cwd=ROOT, check=True)
        cls.tmp = tempfile.mkdtemp(prefix="sigil-py-")
        port = free_port()
        cls.sigil = "http://127.0.0.1:%d" % port
        env = {
            "PATH": os.environ.get("PATH", ""),
            "SIGIL_ADDR": "127.0.0.1:%d" % port,
            "SIGIL_ISSUER": cls.sigil,
            "SIGIL_DATABASE_URL": "sqlite:" + os.path.join(cls.tmp, "sigil.db"),
            "SIGIL_ARGON2_MEMORY": "1024",
            "SIGIL_ARGON2_TIME": "1",
            "SIGIL_RATE_LIMIT": "0",
            "SIGIL_LOG_LEVEL": "warn",
            "SIGIL_ADMIN_EMAIL": ADMIN[0],
            "SIGIL_ADMIN_PASSWORD": ADMIN[1],
        }
        cls.proc = subprocess.Popen([binary, "serve"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while True:
            if cls.proc.poll() is not None:
                raise RuntimeError("sigil exited: " + cls.proc.stderr.read().decode())
            try:
                if call("GET", cls.sigil + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("sigil did not become ready")
            time.sleep(0.05)
        cls.rs = resource_server.serve(cls.sigil, "sigil", 0)
        cls.base = "http://127.0.0.1:%d" % cls.rs.server_address[1]
        threading.Thread(target=cls.rs.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.rs.shutdown()
        cls.rs.server_close()
        cls.proc.terminate()
        cls.proc.wait(20)
        cls.proc.stderr.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def login(self, email, password="a long password 1", signup=True):
        if signup:
            st, body, _ = call("POST", self.sigil + "/auth/signup",
                               {"email": email, "password": password, "name": "N"})
            self.assertEqual(st, 201, body)
        st, body, _ = call("POST", self.sigil + "/auth/login", {"email": email, "password": password})
        self.assertEqual(st, 200, body)
        return body["token"]

    def test_user_token_reads_and_is_forbidden_to_delete(self):
        token = self.login("ada@example.com")
        st, body, _ = call("GET", self.base + "/notes", token=token)
        self.assertEqual(st, 200)
        self.assertEqual(body["email"], "ada@example.com")
        st, _, headers = call("DELETE", self.base + "/notes", token=token)
        self.assertEqual(st, 403)
        self.assertIn("insufficient_scope", headers["WWW-Authenticate"])

    def test_admin_token_deletes(self):
        token = self.login(ADMIN[0], ADMIN[1], signup=False)
        self.assertEqual(call("DELETE", self.base + "/notes", token=token)[0], 200)

    def test_bad_tokens_get_401(self):
        token = self.login("bob@example.com")
        st, _, headers = call("GET", self.base + "/notes")
        self.assertEqual(st, 401)
        self.assertTrue(headers["WWW-Authenticate"].startswith("Bearer"))
        h, p, s = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        claims["roles"] = ["admin"]
        forged = ".".join([h, base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("="), s])
        self.assertEqual(call("DELETE", self.base + "/notes", token=forged)[0], 401)
        shared = jwt.encode({"email": "bob@example.com", "userId": claims["sub"], "iss": self.sigil,
                             "aud": "sigil", "sub": claims["sub"], "exp": int(time.time()) + 3600,
                             "iat": int(time.time())}, "Asecretkey", algorithm="HS256",
                            headers={"typ": "at+jwt", "kid": json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))["kid"]})
        self.assertEqual(call("GET", self.base + "/notes", token=shared)[0], 401)
        self.assertEqual(call("GET", self.base + "/notes", token="not.a.token")[0], 401)

    def test_other_audience_gets_401(self):
        admin = self.login(ADMIN[0], ADMIN[1], signup=False)
        st, c, _ = call("POST", self.sigil + "/admin/clients",
                        {"name": "billing", "scopes": ["invoices"], "audience": "billing"}, token=admin)
        self.assertEqual(st, 201, c)
        st, tok, _ = call("POST", self.sigil + "/oauth2/token",
                          {"grant_type": "client_credentials", "client_id": c["clientId"],
                           "client_secret": c["clientSecret"]}, form=True)
        self.assertEqual(st, 200, tok)
        self.assertEqual(call("GET", self.base + "/notes", token=tok["access_token"])[0], 401)

    def test_revoked_key_gets_401(self):
        # Its own server, so that the key cache starts empty and the
        # revocation does not disturb the other tests' shared verifier.
        token = self.login("cyd@example.com")
        admin = self.login(ADMIN[0], ADMIN[1], signup=False)
        rs = resource_server.serve(self.sigil, "sigil", 0, None)
        base = "http://127.0.0.1:%d" % rs.server_address[1]
        threading.Thread(target=rs.serve_forever, daemon=True).start()
        try:
            self.assertEqual(call("GET", base + "/notes", token=token)[0], 200)
            kid = jwt.get_unverified_header(token)["kid"]
            st, body, _ = call("POST", self.sigil + "/admin/keys/%s/revoke" % kid, {}, token=admin)
            self.assertEqual(st, 200, body)
            # A fresh verifier (what a restarted service has) no longer
            # finds the key in the JWKS.
            fresh = resource_server.Verifier(self.sigil)
            with self.assertRaises(jwt.PyJWTError):
                fresh.verify(token)
            # New tokens are signed by the key that took over.
            new = self.login("cyd@example.com", signup=False)
            self.assertNotEqual(jwt.get_unverified_header(new)["kid"], kid)
            self.assertEqual(call("GET", base + "/notes", token=new)[0], 200)
        finally:
            rs.shutdown()
            rs.server_close()


if __name__ == "__main__":
    unittest.main()
