"""A small resource server that accepts Sigil's access tokens.

Standard library HTTP server plus PyJWT's PyJWKClient (Debian: python3-jwt).
The keys come from Sigil's JWKS, chosen by the token's kid and cached; the
token's alg must be the key's alg; iss, aud, exp/nbf (60 s leeway) and the
header typ "at+jwt" are checked.

    SIGIL_ISSUER=http://127.0.0.1:8080 python3 resource_server.py

GET /notes answers the caller's claims; DELETE /notes needs the "admin"
role (403 otherwise). A missing or bad token gets 401.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from jwt import PyJWKClient

ALGORITHMS = ["RS256", "ES256", "EdDSA"]


class Verifier:
    """Verifies Sigil access tokens against the issuer's JWKS."""

    def __init__(self, issuer, audience="sigil", jwks_uri=None):
        self.issuer = issuer
        self.audience = audience
        self.jwks = PyJWKClient(jwks_uri or issuer.rstrip("/") + "/.well-known/jwks.json",
                                cache_keys=True, lifespan=300)

    def verify(self, token):
        """Returns the claims of a valid access token; raises jwt.PyJWTError."""
        header = jwt.get_unverified_header(token)
        if str(header.get("typ", "")).lower() != "at+jwt":
            raise jwt.InvalidTokenError("not an access token (typ)")
        key = self.jwks.get_signing_key_from_jwt(token)  # by kid; refetches once for an unknown kid
        alg = key._jwk_data.get("alg")
        if not alg or alg != header.get("alg") or alg not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError("alg does not match the key")
        return jwt.decode(token, key.key, algorithms=[alg], issuer=self.issuer,
                          audience=self.audience, leeway=60,
                          options={"require": ["exp", "iat", "iss", "aud", "sub"]})


def _unreachable(err):
    """Tells a JWKS that could not be fetched (not the caller's fault) from a
    bad token. PyJWT 2.7+ has a class for it; 2.6 (Debian 12) a message."""
    conn = getattr(jwt, "PyJWKClientConnectionError", None)
    if conn is not None:
        return isinstance(err, conn)
    return isinstance(err, jwt.PyJWKClientError) and str(err).startswith("Fail to fetch")


def make_handler(verifier):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # quiet; no tokens in logs
            pass

        def _send(self, status, body, headers=None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _claims(self):
            auth = self.headers.get("Authorization", "")
            if not auth.lower().startswith("bearer "):
                self._send(401, {"error": "a Bearer access token is required"},
                           {"WWW-Authenticate": 'Bearer'})
                return None
            try:
                return verifier.verify(auth[7:].strip())
            except (jwt.PyJWTError, ValueError) as err:
                if _unreachable(err):
                    self._send(503, {"error": "cannot fetch the signing keys"}, {"Retry-After": "5"})
                else:
                    self._send(401, {"error": "invalid token"},
                               {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return None

        def do_GET(self):
            if self.path == "/healthz":
                return self._send(200, {"status": "ok"})
            if self.path != "/notes":
                return self._send(404, {"error": "not found"})
            claims = self._claims()
            if claims is not None:
                self._send(200, {"sub": claims["sub"], "email": claims.get("email"),
                                 "scope": claims.get("scope", "")})

        def do_DELETE(self):
            if self.path != "/notes":
                return self._send(404, {"error": "not found"})
            claims = self._claims()
            if claims is None:
                return
            if "admin" not in (claims.get("roles") or []):
                return self._send(403, {"error": "the admin role is required"},
                                  {"WWW-Authenticate": 'Bearer error="insufficient_scope"'})
            self._send(200, {"deleted": True})

    return Handler


def serve(issuer, audience="sigil", port=8000, jwks_uri=None):
    """Returns a ThreadingHTTPServer on 127.0.0.1:port (0 for a free one)."""
    return ThreadingHTTPServer(("127.0.0.1", port),
                               make_handler(Verifier(issuer, audience, jwks_uri)))


if __name__ == "__main__":
    issuer = os.environ.get("SIGIL_ISSUER")
    if not issuer:
        sys.exit("SIGIL_ISSUER is required (e.g. http://127.0.0.1:8080)")
    srv = serve(issuer, os.environ.get("SIGIL_AUDIENCE", "sigil"),
                int(os.environ.get("PORT", "8000")), os.environ.get("SIGIL_JWKS_URI"))
    print(f"listening on http://127.0.0.1:{srv.server_address[1]}", flush=True)
    srv.serve_forever()
