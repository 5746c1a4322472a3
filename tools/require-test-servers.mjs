// `npm run test:e2e:pg` and `npm run test:multi` need a real PostgreSQL
// server (and Redis for the latter): fail loudly when it is not given or
// does not answer, rather than run on SQLite or skip.
import pg from 'pg';

const wanted = process.argv.slice(2);

/** @param {string} url */
async function checkPostgres(url) {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 3_000,
  });
  await client.connect();
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end();
  }
}

/** @param {string} url */
async function checkRedis(url) {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // The failure is reported by connect(); without a listener ioredis prints it again.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}

/** @type {Record<string, (url: string) => Promise<void>>} */
const checks = {
  TEST_DATABASE_URL: checkPostgres,
  TEST_REDIS_URL: checkRedis,
};

let failed = false;
for (const variable of wanted) {
  const url = process.env[variable];
  if (!url) {
    console.error(`${variable} is not set (see README, "Tests on PostgreSQL")`);
    failed = true;
    continue;
  }
  if (variable === 'TEST_DATABASE_URL' && !/^postgres(ql)?:\/\//.test(url)) {
    console.error(`${variable} must be a postgres:// URL`);
    failed = true;
    continue;
  }
  try {
    await checks[variable](url);
  } catch (error) {
    console.error(`${variable}: the server does not answer: ${error.message}`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
