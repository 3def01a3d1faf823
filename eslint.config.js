import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The layers, enforced (README → Architecture): the Polyv client knows nothing of GraphQL or of
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
      group: ['**/pagination/*', '**/auth/*'],
      message: 'The Polyv client does not know who pages its lists or who asks.',
    }),
  },
  {
    files: ['src/pagination/**/*.ts'],
    patterns: graphqlAndAbove({
      group: ['**/polyv/*', '**/cache/*', '**/auth/*'],
      message: 'Pagination is generic: it knows paged lists, not Polyv.',
    }),
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
  { files: ['**/*.ts', '*.js', 'scripts/**/*.mjs'], languageOptions: { globals: globals.node } },
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
