// The peer: panva/node-oidc-provider 9 (on Koa, in-memory adapter), set up
// for what the bench compares: one confidential client (client_secret_basic)
// with the client_credentials grant, RS256 JWT access tokens through
// resource indicators, and introspection. It cannot introspect its JWTs, so
// a second resource server gets opaque tokens for the introspection run.
// Listens on PORT; prints {port, clientId, clientSecret, jwtResource,
// opaqueResource} as one JSON line once it listens.
import Provider from 'oidc-provider';
import { generateKeyPairSync } from 'node:crypto';

const port = Number(process.env.PORT);
const client = {
  clientId: 'bench-client',
  clientSecret: 'bench-secret-'.repeat(3),
};
const jwtResource = 'urn:bench:jwt';
const opaqueResource = 'urn:bench:opaque';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: {
    keys: [
      {
        ...privateKey.export({ format: 'jwk' }),
        kid: 'bench',
        use: 'sig',
        alg: 'RS256',
      },
    ],
  },
  scopes: ['api'],
  ttl: { ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true, allowedPolicy: () => true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => jwtResource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => ({
        scope: 'api',
        audience: resource,
        accessTokenTTL: 3600,
        ...(resource === jwtResource
          ? { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }
          : { accessTokenFormat: 'opaque' }),
      }),
    },
  },
});
// Its errors (a 401 for a bad secret) are the client's, not the server's.
provider.on('server_error', (_ctx, error) => console.error(error));

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ port, ...client, jwtResource, opaqueResource }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
