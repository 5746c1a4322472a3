// @ts-check
import eslint from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, top to bottom (docs/architecture.md): a file may
 * import only its own layer and the layers below it, so no cycle between
 * folders can form and nothing low depends on a feature above it.
 * @type {[layer: string, files: string[]][]}
 */
const LAYERS = [
  // With src/*.ts: the last descriptor below gives the files left over to this layer.
  ['app', ['src/cli/**', 'src/http/**']],
  ['oauth', ['src/oauth/**']],
  // The browser's side of signing in: sessions, consents, the pages' HTML.
  ['browser', ['src/browser/**']],
  ['health', ['src/health/**']],
  ['resource-servers', ['src/resource-servers/**']],
  ['clients', ['src/clients/**']],
  ['users', ['src/users/**']],
  ['sessions', ['src/sessions/**']],
  ['audit', ['src/audit/**']],
  ['metrics', ['src/metrics/**']],
  ['access', ['src/access/**']],
  ['rate-limiting', ['src/rate-limiting/**']],
  ['logging', ['src/logging/**']],
  ['redis', ['src/redis/**']],
  ['database', ['src/database/**']],
  ['config', ['src/config/**']],
  ['common', ['src/common/**']],
];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'coverage/',
      'test-artifacts/',
      'src/metadata.ts',
      'test/client/api.generated.ts',
      '**/*.cjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: {
          allowDefaultProject: ['*.mjs', 'tools/*.mjs', 'examples/*/*.mjs'],
          // The scripts above are few and small; the default cap of 8 only counts them.
          maximumDefaultProjectFileMatchCount_THIS_WILL_SLOW_DOWN_LINTING: 20,
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // Plain JavaScript for readers to copy, and the benchmark script:
    // checked for errors, not for types.
    files: ['examples/**/*.mjs', 'bench/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      // supertest bodies are `any` by design; assertions pin their shape.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // Unit specs may build their fixtures from any layer.
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: { project: 'tsconfig.json' } },
      'boundaries/elements': [
        ...LAYERS.flatMap(([type, patterns]) =>
          patterns.map((pattern) => ({ type, pattern, partialMatch: false })),
        ),
        // The first descriptor that matches wins: the files at the root of src/.
        { type: 'app', pattern: 'src' },
      ],
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          message:
            '{{from.type}} may not import {{to.type}}: a layer imports only the layers below it (docs/architecture.md)',
          policies: LAYERS.map(([type], index) => ({
            from: { element: { type } },
            allow: {
              to: {
                element: {
                  types: { anyOf: LAYERS.slice(index).map(([layer]) => layer) },
                },
              },
            },
          })),
        },
      ],
    },
  },
);
