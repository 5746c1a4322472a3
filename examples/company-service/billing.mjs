// The service at the end of a call chain: it accepts only tokens for itself,
// and tells a service acting for a user (`act`, RFC 8693 §4.1) from the user.
import { createServer as createHttpServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { createTokenCheck, jsonRoutes } from './protect.mjs';

/**
 * @param {{ issuer: string, audience: string, jwksUrl: string | URL, cooldownDuration?: number, publicUrl?: string }} options
 *   `audience`: billing's identifier, as registered with POST /resource-servers.
 */
export function createBillingServer({
  publicUrl = 'http://localhost:4001',
  ...verification
}) {
  const check = createTokenCheck({
    ...verification,
    realm: 'billing',
    publicUrl,
  });

  /** @param {import('node:http').IncomingMessage} request */
  async function getInvoices(request) {
    const checked = await check(request, '/invoices', 'invoices:read');
    if (!checked.ok) return checked.answer;
    const { sub, act } = checked.claims;
    return {
      status: 200,
      body: {
        subject: sub,
        // Who called for the user, then who called them, up the chain; none when the user called.
        actors: actorsOf(act),
        invoices: [{ id: 'INV-1', total: '12.40 EUR' }],
      },
    };
  }

  return createHttpServer(jsonRoutes({ '/invoices': getInvoices }));
}

/** @param {unknown} act @returns {string[]} */
function actorsOf(act) {
  const actors = [];
  for (let at = act; typeof at?.sub === 'string'; at = at.act)
    actors.push(at.sub);
  return actors;
}

if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href
) {
  const issuer = process.env.AUTH_ISSUER ?? 'http://localhost:3000';
  const port = Number(process.env.PORT ?? 4001);
  createBillingServer({
    issuer,
    audience: process.env.AUTH_AUDIENCE ?? `http://localhost:${port}`,
    jwksUrl: process.env.AUTH_JWKS_URL ?? `${issuer}/.well-known/jwks.json`,
    publicUrl: process.env.PUBLIC_URL ?? `http://localhost:${port}`,
  }).listen(port, () => {
    console.log(
      `Invoices on http://localhost:${port}/invoices, trusting ${issuer}`,
    );
  });
}
