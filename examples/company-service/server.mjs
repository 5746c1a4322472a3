// A company service that trusts the auth service's access tokens without
// calling it on each request: it verifies them against the published JWKS.
// Given a downstream service, it calls it for the user with a token it gets
// by exchanging the user's (RFC 8693), never by forwarding the user's own.
import { createServer as createHttpServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createTokenCheck, jsonRoutes } from './protect.mjs';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * @typedef {{ url: string, resource: string, tokenEndpoint: string, clientId: string, clientSecret: string }} Downstream
 *   The billing service to call: its URL, its identifier (`resource`), and this
 *   service's own client credentials at the auth service's token endpoint.
 */

/**
 * @param {{ issuer: string, audience: string, jwksUrl: string | URL, cooldownDuration?: number, publicUrl?: string, scope?: string, downstream?: Downstream }} options
 *   `audience`: this service's identifier at the auth service (for a service
 *   registered with POST /resource-servers) or its ACCESS_TOKEN_AUDIENCE;
 *   `scope`: the scope GET /orders needs.
 */
export function createServer({
  publicUrl = 'http://localhost:4000',
  scope = 'profile',
  downstream,
  ...verification
}) {
  const check = createTokenCheck({
    ...verification,
    realm: 'orders',
    publicUrl,
  });

  /** @param {import('node:http').IncomingMessage} request */
  async function getOrders(request) {
    const checked = await check(request, '/orders', scope);
    if (!checked.ok) return checked.answer;
    const orders = [{ id: 1, item: 'coffee beans', quantity: 2 }];
    const body = { subject: checked.claims.sub, orders };
    if (downstream === undefined) return { status: 200, body };
    const invoices = await invoicesFor(checked.token, downstream);
    if (invoices.ok)
      return { status: 200, body: { ...body, invoices: invoices.body } };
    // The auth service's or billing's reasons are for this service's operators, not its users.
    console.warn('billing refused orders:', JSON.stringify(invoices.body));
    return { status: 502, body: { error: 'billing_unavailable' } };
  }

  return createHttpServer(jsonRoutes({ '/orders': getOrders }));
}

/**
 * The user's invoices from the billing service, with a token for billing
 * that names this service as the actor: the user's own token is for this
 * service (its `aud`), and billing would refuse it.
 * @param {string} userToken @param {Downstream} downstream
 */
async function invoicesFor(userToken, downstream) {
  const credentials = Buffer.from(
    `${encodeURIComponent(downstream.clientId)}:${encodeURIComponent(downstream.clientSecret)}`,
  ).toString('base64');
  const exchanged = await fetch(downstream.tokenEndpoint, {
    method: 'POST',
    headers: { Authorization: `Basic ${credentials}` },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: userToken,
      subject_token_type: ACCESS_TOKEN,
      resource: downstream.resource,
    }),
  });
  if (!exchanged.ok) return { ok: false, body: await exchanged.json() };
  const { access_token } = await exchanged.json();
  const invoices = await fetch(`${downstream.url}/invoices`, {
    headers: { Authorization: `Bearer ${access_token}` },
  });
  return { ok: invoices.ok, body: await invoices.json() };
}

// `node server.mjs`: configured from the environment; imported, it only exports createServer.
if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  const issuer = process.env.AUTH_ISSUER ?? 'http://localhost:3000';
  const port = Number(process.env.PORT ?? 4000);
  const billing = process.env.BILLING_URL;
  createServer({
    issuer,
    // Its own identifier, as registered with POST /resource-servers: never the auth
    // service's, or a token stolen from orders would work at the auth service too.
    audience: process.env.AUTH_AUDIENCE ?? `http://localhost:${port}`,
    jwksUrl: process.env.AUTH_JWKS_URL ?? `${issuer}/.well-known/jwks.json`,
    publicUrl: process.env.PUBLIC_URL ?? `http://localhost:${port}`,
    scope: process.env.ORDERS_SCOPE ?? 'orders:read',
    downstream:
      billing === undefined
        ? undefined
        : {
            url: billing,
            resource: process.env.BILLING_RESOURCE ?? billing,
            tokenEndpoint: `${issuer}/auth/token`,
            clientId: process.env.CLIENT_ID ?? '',
            clientSecret: process.env.CLIENT_SECRET ?? '',
          },
  }).listen(port, () => {
    console.log(
      `Orders on http://localhost:${port}/orders, trusting ${issuer}`,
    );
  });
}
