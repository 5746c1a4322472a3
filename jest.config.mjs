// ESM mode: every @nestjs/* v12 package is ESM-only (see STYLE.md).
const tsJest = [
  'ts-jest',
  {
    useESM: true,
    tsconfig: 'tsconfig.json',
    // TS151002: ts-jest's hint about isolatedModules; types are checked by `npm run typecheck`.
    diagnostics: { ignoreCodes: ['TS151002'] },
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': tsJest },
  testEnvironment: 'node',
};

/** @type {import('jest').Config} */
export default {
  // Each e2e app runs migrations and bcrypt; on a shared 2-core CI machine
  // under load, a hook can take longer than jest's default 5 s. (A global
  // option: jest ignores it inside a project.)
  testTimeout: 30_000,
  // Jest's default keeps a core for itself: one worker on a 2-core machine,
  // which leaves the other core idle while an e2e file waits on its database,
  // bcrypt and RSA key generation. Its own share of the work is small.
  maxWorkers: '100%',
  projects: [
    {
      ...common,
      displayName: 'unit',
      roots: ['<rootDir>/src'],
      testMatch: ['**/*.spec.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
    },
    {
      // openapi-fetch with the types openapi-typescript generates from openapi.json.
      ...common,
      displayName: 'client',
      roots: ['<rootDir>/test/client'],
      testMatch: ['**/*.client-spec.ts'],
    },
    {
      // Two production builds over one PostgreSQL and Redis: `npm run test:multi`, not `npm test`.
      ...common,
      displayName: 'multi',
      roots: ['<rootDir>/test/multi'],
      testMatch: ['**/*.multi-spec.ts'],
    },
    {
      // Production builds under load while the suite stops PostgreSQL and
      // Redis, kills an instance and fills SQLite's disk: `npm run
      // test:faults`, not `npm test`. It starts its own servers.
      ...common,
      displayName: 'faults',
      roots: ['<rootDir>/test/faults'],
      testMatch: ['**/*.faults-spec.ts'],
    },
    {
      // The fault suite's load for SOAK_MINUTES (10): `npm run soak`, not in CI.
      ...common,
      displayName: 'soak',
      roots: ['<rootDir>/test/soak'],
      testMatch: ['**/*.soak-spec.ts'],
    },
    {
      // Swagger UI in Debian's Chromium: `npm run test:browser`, not `npm test`.
      ...common,
      displayName: 'browser',
      roots: ['<rootDir>/test/browser'],
      testMatch: ['**/*.browser-spec.ts'],
    },
  ],
};
