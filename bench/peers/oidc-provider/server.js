// The benchmark peer: node oidc-provider 9 doing the jobs Sigil's
// benchmarks time, on 127.0.0.1 only (PORT, default a free port). It
// prints "listening on http://127.0.0.1:PORT" when ready.
//
// client_credentials: one confidential client, CLIENT_ID / CLIENT_SECRET
// (client_secret_basic), issuing JWT access tokens signed RS256
// (RSA-2048), the same job as Sigil's POST /oauth2/token.
//
// Authorization code flow: one public client, WEB_CLIENT_ID (default
// "bench-web"; token endpoint auth "none", PKCE S256 as for every public
// client), redirect URI WEB_REDIRECT_URI (default sigil-load's
// http://127.0.0.1:9/callback), scopes openid and email. Each code
// exchange answers a JWT access token (RS256, the resource below) and an
// ID token (RS256), as Sigil does. Production mode has no development
// interaction pages, so /interaction/:uid below stands in for them: it
// signs the bench user in and grants what the client asked for, with no
// page. The load generator goes through it once, in its set-up; after
// that the session cookie and the stored grant let /auth answer a
// redirect with a code straight away, which is what is measured.
//
// bench/compare.sh starts it with NODE_ENV=production.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const clientId = process.env.CLIENT_ID;
const clientSecret = process.env.CLIENT_SECRET;
if (!clientId || !clientSecret) {
  console.error('set CLIENT_ID and CLIENT_SECRET');
  process.exit(2);
}
const webClientId = process.env.WEB_CLIENT_ID || 'bench-web';
const webRedirectURI = process.env.WEB_REDIRECT_URI || 'http://127.0.0.1:9/callback';
const audience = 'urn:sigil-bench:api';
const benchUser = 'bench-user';

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
    }, {
      client_id: webClientId,
      application_type: 'web',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [webRedirectURI],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    }],
    jwks: { keys: [jwk] },
    // Signed cookies, as a production install has them.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: { token: '/oauth2/token' },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, email: `${sub}@example.com`, email_verified: true }),
    }),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
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
  const callback = provider.callback();

  // interact finishes the pending interaction of the request's browser
  // without a page: the login prompt signs the bench user in, the
  // consent prompt grants every missing scope, claim and resource scope.
  async function interact(req, res) {
    const { prompt: { name, details }, params, grantId, session } = await provider.interactionDetails(req, res);
    let result;
    if (name === 'login') {
      result = { login: { accountId: benchUser } };
    } else if (name === 'consent') {
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
      for (const [resource, scopes] of Object.entries(details.missingResourceScopes || {})) {
        grant.addResourceScope(resource, scopes.join(' '));
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'access_denied', error_description: `prompt ${name} is not handled` };
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }

  server.on('request', (req, res) => {
    if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
      interact(req, res).catch((err) => {
        res.statusCode = 400;
        res.setHeader('Content-Type', 'text/plain');
        res.end(`interaction: ${err.message}\n`);
      });
      return;
    }
    callback(req, res);
  });
  console.log(`listening on ${issuer} (oidc-provider, NODE_ENV=${process.env.NODE_ENV || ''})`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
