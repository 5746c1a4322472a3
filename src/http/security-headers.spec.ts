import { afterAll, describe, expect, it } from '@jest/globals';
import Fastify from 'fastify';
import helmet from 'helmet';
import { createServer, get } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SECURITY_HEADER_OPTIONS,
  sendSecurityHeaders,
} from './security-headers.js';

/** The response's headers as sent, names in their case, minus the per-response ones. */
function headersSentBy(server: Server): Promise<string[]> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (response) => {
      response.resume();
      const pairs: string[] = [];
      for (let i = 0; i < response.rawHeaders.length; i += 2) {
        const name = response.rawHeaders[i];
        if (!/^(date|connection|keep-alive|content-length)$/i.test(name)) {
          pairs.push(`${name}: ${response.rawHeaders[i + 1]}`);
        }
      }
      resolve(pairs);
    }).on('error', reject);
  });
}

describe('sendSecurityHeaders', () => {
  const withHelmet = createServer((request, response) => {
    helmet(SECURITY_HEADER_OPTIONS)(request, response, () => response.end());
  });
  const fastify = Fastify();
  sendSecurityHeaders(fastify);
  fastify.get('/', (_request, reply) => {
    reply.raw.end();
  });

  afterAll(async () => {
    withHelmet.close();
    await fastify.close();
  });

  it('sends byte for byte the headers helmet sends for the same options', async () => {
    await new Promise<void>((resolve) =>
      withHelmet.listen(0, '127.0.0.1', resolve),
    );
    await fastify.listen({ port: 0, host: '127.0.0.1' });

    const expected = await headersSentBy(withHelmet);
    expect(expected).toContainEqual(
      expect.stringMatching(/^Content-Security-Policy: default-src 'self'/),
    );
    expect(await headersSentBy(fastify.server)).toEqual(expected);
  });
});
