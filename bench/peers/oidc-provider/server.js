// The benchmark peer: node oidc-provider 9 with the client_credentials
// grant issuing JWT access tokens signed RS256 (RSA-2048), the same job as
// Sigil's POST /oauth2/token. It listens on 127.0.0.1 only (PORT, default
// a free port), prints "listening on http://127.0.0.1:PORT" when ready,
// and serves one client: CLIENT_ID / CLIENT_SECRET (client_secret_basic).
// bench/compare.sh starts it with NODE_ENV=production.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
if (!clientId || !clientSecret) {
  console.error('set CLIENT_ID and CLIENT_SECRET');
  process.exit(2);
}
const audience = 'urn:sigil-bench:api';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const server = createServer();
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [jwk] },
    routes: { token: '/oauth2/token' },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // A resource server whose access tokens are JWTs (RFC 9068), the
      // default resource of every request.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          audience,
          scope: '',
          accessTokenTTL: 900,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  server.on('request', provider.callback());
  console.log(`listening on ${issuer} (oidc-provider, NODE_ENV=${process.env.NODE_ENV || ''})`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
