import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layers, enforced (docs/architecture.md): the Polyv client knows nothing of GraphQL or of
 * who calls it; pagination is generic over any paged list; neither reaches up into the schema
 * or the server. A forbidden import fails `npm run lint`, and so `npm test`.
 */
const graphqlAndAbove = (...more) => [
  { group: ['graphql', 'graphql/*', '@apollo/*'], message: 'This layer knows nothing of GraphQL.' },
  {
    group: ['**/schema/*', '**/server/*', '**/generated/*', '**/publicErrors.js'],
    message: 'This layer does not reach up into the schema or the server.',
  },
  ...more,
];
const layers = [
  {
    files: ['src/polyv/**/*.ts'],
    patterns: graphqlAndAbove({
      group: ['**/lists/*', '**/pagination/*', '**/auth/*'],
      message: 'The Polyv client does not know its lists, who pages them or who asks.',
    }),
  },
  {
    files: ['src/pagination/**/*.ts'],
    patterns: graphqlAndAbove({
      group: ['**/lists/*', '**/polyv/*', '**/cache/*', '**/auth/*'],
      message: 'Pagination is generic: it knows paged lists, not Polyv.',
    }),
  },
  {
    files: ['src/lists/**/*.ts'],
    patterns: graphqlAndAbove({
      group: ['**/auth/*'],
      message: 'A list says what Polyv holds; who may read it is decided by the resolver (auth/).',
    }),
  },
  {
    files: ['src/auth/**/*.ts'],
    patterns: graphqlAndAbove({
      group: ['**/lists/*', '**/polyv/*', '**/pagination/*', '**/cache/*', '**/domain/*'],
      message: 'Keys stand alone: they decide who may read what, and call no other part.',
    }),
  },
  {
    // Live updates poll lists and deliver messages; subscriptions (schema/) and their
    // transports (server/) use them, never the other way round.
    files: ['src/live/**/*.ts'],
    patterns: [
      {
        group: ['**/schema/*', '**/server/*', '**/generated/*', '**/auth/*'],
        message:
          'Live updates sit below the schema and the server; who may listen is decided by the resolver (auth/).',
      },
    ],
  },
  {
    // The domain owns its models and enums: nothing from above, not even the generated types.
    files: ['src/domain/**/*.ts'],
    patterns: [
      {
        group: ['**/lists/*', '**/polyv/*', '**/pagination/*', '**/cache/*', '**/auth/*'],
        message: 'The domain model stands alone: models and conversions call no other part.',
      },
      {
        group: [
          'graphql',
          'graphql/*',
          '@apollo/*',
          '**/schema/*',
          '**/server/*',
          '**/generated/*',
        ],
        message: 'The domain model knows nothing of GraphQL, the schema or the server.',
      },
    ],
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'dist-bench/',
      'coverage/',
      'test-output/',
      'src/generated/',
      'node_modules/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['public/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'script' },
  },
  {
    files: ['**/*.ts', '*.js', '*.cjs', 'scripts/**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  ...layers.map(({ files, patterns }) => ({
    files,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  })),
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
);
