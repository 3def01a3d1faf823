/**
 * The import graph's rules, checked by `npm run depcheck` (part of `npm test`), types included:
 * tsc reads `import type` too, so an arrow that exists only for a type is still an arrow.
 * The layers' finer "nevers" (what polyv/, lists/, pagination/, auth/, live/ may import) are
 * eslint's (eslint.config.js); these are the graph's: no circle, the floors at the bottom reach
 * nothing above them, and the emulator (a test double) stays apart from the product.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle makes two modules one: neither can be read, tested or moved alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-reaches-nothing-above',
      severity: 'error',
      comment:
        'The domain (models, conversions, summaries) is the bottom floor: it imports no other part.',
      from: { path: '^src/domain/' },
      to: { path: '^(src|emulator)/', pathNot: '^src/domain/' },
    },
    {
      name: 'pagination-reaches-nothing-above',
      severity: 'error',
      comment:
        'Pagination is generic paging over lists it is handed: it reaches only the domain below it.',
      from: { path: '^src/pagination/' },
      to: { path: '^(src|emulator)/', pathNot: '^src/(pagination|domain)/' },
    },
    {
      name: 'schema-not-to-server',
      severity: 'error',
      comment:
        'The server calls the resolvers, not the other way round (their context is schema/context.ts).',
      from: { path: '^src/(schema|generated)/' },
      to: { path: '^src/server/' },
    },
    {
      name: 'product-loads-emulator-only-on-demand',
      severity: 'error',
      comment:
        'The emulator is a test double: src/ loads it only by the one dynamic import in gateway.ts, when no credentials are set.',
      from: { path: '^src/' },
      to: { path: '^emulator/', dependencyTypesNot: ['dynamic-import'] },
    },
    {
      name: 'emulator-dynamic-import-only-from-gateway',
      severity: 'error',
      comment: 'One place decides to start the emulator: src/gateway.ts.',
      from: { path: '^src/', pathNot: '^src/gateway\\.ts$' },
      to: { path: '^emulator/' },
    },
    {
      name: 'emulator-reads-declarations-only',
      severity: 'error',
      comment:
        "The emulator may read Polyv's declarations (src/polyv/endpoints.ts) and the signing function, nothing else of the product.",
      from: { path: '^emulator/' },
      to: {
        path: '^src/',
        pathNot: '^src/polyv/(endpoints|sign)\\.ts$',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(test|dist|dist-bench|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
  },
};
