/**
 * docs/clients.md's Apollo Client snippet, read from schema.graphql: every connection field pages
 * with cursors (`relayStylePagination`, keyed by the arguments that choose the list), and every
 * entity keyed by something other than `id` names its key fields. `npm run docs` writes it into
 * the page, so a new list field is in the snippet without an edit; test/docs.test.ts fails when
 * the page is not what this returns, and checks the snippet against the schema on its own.
 */
import { Kind, type DocumentNode, type FieldDefinitionNode } from 'graphql';
import { namedType } from '../schema/lists.js';

/** The snippet's first line: how the page's generated block is found. */
export const SNIPPET_MARK = '// Written by `npm run docs` from schema.graphql.';

const PAGINATION_ARGUMENTS = new Set(['first', 'after', 'last', 'before']);

const quoted = (names: readonly string[]) => `[${names.map((name) => `'${name}'`).join(', ')}]`;

/** Every type's paged fields and key fields, in the schema's order. */
function policies(schema: DocumentNode): string[] {
  const types = new Map<string, { fields: string[]; keyFields?: string[] }>();
  const policyOf = (type: string) => {
    let policy = types.get(type);
    if (!policy) types.set(type, (policy = { fields: [] }));
    return policy;
  };
  for (const definition of schema.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION
    )
      continue;
    const type = definition.name.value;
    for (const field of definition.fields ?? [])
      if (isConnection(field)) {
        const keyArgs = (field.arguments ?? [])
          .map((argument) => argument.name.value)
          .filter((name) => !PAGINATION_ARGUMENTS.has(name));
        policyOf(type).fields.push(
          `${field.name.value}: relayStylePagination(${quoted(keyArgs)}),`,
        );
      }
    for (const directive of definition.directives ?? []) {
      const fields = directive.arguments?.find((argument) => argument.name.value === 'fields');
      if (directive.name.value !== 'key' || fields?.value.kind !== Kind.STRING) continue;
      const keyFields = fields.value.value.split(/\s+/).filter(Boolean);
      if (keyFields.join() !== 'id') policyOf(type).keyFields = keyFields;
    }
  }
  const lines: string[] = [];
  for (const [type, { fields, keyFields }] of types) {
    const parts = [
      ...(keyFields ? [`keyFields: ${quoted(keyFields)},`] : []),
      ...(fields.length ? ['fields: {', ...fields, '},'] : []),
    ];
    if (parts.length) lines.push(`${type}: {`, ...parts, '},');
  }
  return lines;
}

const isConnection = (field: FieldDefinitionNode) =>
  namedType(field.type).endsWith('Connection') &&
  (field.arguments ?? []).some((argument) => argument.name.value === 'first');

/** The snippet, unformatted (Prettier lays it out in the page). */
export function apolloClientSnippet(schema: DocumentNode): string {
  return [
    SNIPPET_MARK,
    "import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';",
    "import { relayStylePagination } from '@apollo/client/utilities';",
    '',
    'export const client = new ApolloClient({',
    'link: new HttpLink({',
    "uri: 'http://localhost:4000/graphql',",
    "headers: { authorization: 'Bearer <key>' },",
    '}),',
    'cache: new InMemoryCache({',
    'typePolicies: {',
    ...policies(schema),
    '},',
    '}),',
    '});',
  ].join('\n');
}

/** The page with its generated block (the ```ts block that starts with SNIPPET_MARK) rewritten. */
export function withApolloClientSnippet(page: string, schema: DocumentNode): string {
  const start = page.indexOf('```ts\n' + SNIPPET_MARK);
  const end = page.indexOf('\n```', start + 1);
  if (start < 0 || end < 0) throw new Error(`no \`\`\`ts block starting "${SNIPPET_MARK}"`);
  return `${page.slice(0, start)}\`\`\`ts\n${apolloClientSnippet(schema)}${page.slice(end)}`;
}
