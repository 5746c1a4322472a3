import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import type { TestApp } from './utils/test-app.js';
import { createTestApp } from './utils/test-app.js';

/**
 * The development format, in a file of its own: the logger is process-wide,
 * and logging.e2e-spec.ts holds the production one.
 */
describe('logs in development', () => {
  let testApp: TestApp;
  const written: string[] = [];

  beforeAll(async () => {
    testApp = await createTestApp(
      { NODE_ENV: 'development', LOG_LEVEL: 'info' },
      {
        logDestination: new Writable({
          write(chunk: Buffer, _encoding, done) {
            written.push(chunk.toString());
            done();
          },
        }),
      },
    );
  });
  afterAll(() => testApp.close());

  it('are readable lines (pino-pretty) that still name the request id', async () => {
    written.length = 0;
    await testApp
      .http()
      .get('/health/live?password=dev-sentinel')
      .set('X-Request-Id', 'dev-1')
      .expect(200);

    // eslint-disable-next-line no-control-regex
    const text = written.join('').replace(/\u001b\[[0-9;]*m/g, '');
    expect(text).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/health\/live\?password=\[Redacted\] 200 \{"reqId":"dev-1","responseTime":\d+\}\n$/,
    );
  });
});
