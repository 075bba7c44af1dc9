// An MCP client on the official TypeScript SDK whose OAuth provider keeps
// everything in memory. The SDK's auth() flow does the rest: it reads the
// MCP server's protected resource metadata from the 401, Sigil's RFC 8414
// metadata, registers the client (RFC 7591), and signs in with PKCE and
// the resource indicator; redirectToAuthorization hands the sign-in URL
// to whoever plays the user.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

export class MemoryProvider {
  constructor(redirectUrl) {
    this._redirectUrl = redirectUrl;
    this.authorizationUrl = undefined;
  }
  get redirectUrl() { return this._redirectUrl; }
  get clientMetadata() {
    return {
      client_name: 'Example TypeScript agent',
      redirect_uris: [this._redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() { return this._client; }
  saveClientInformation(c) { this._client = c; }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; }
  redirectToAuthorization(u) { this.authorizationUrl = u; }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }
}

// connect opens an MCP session at serverUrl. When the server asks for a
// token, signIn(authorizationUrl) must sign the user in and return the
// authorization code the redirect carried.
export async function connect(serverUrl, provider, signIn) {
  const client = new Client({ name: 'sigil-example-agent', version: '1.0.0' });
  let transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
  try {
    await client.connect(transport);
    return client;
  } catch (err) {
    if (!(err instanceof UnauthorizedError) || !provider.authorizationUrl) throw err;
  }
  const code = await signIn(provider.authorizationUrl);
  await transport.finishAuth(code);
  transport = new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider });
  await client.connect(transport);
  return client;
}
