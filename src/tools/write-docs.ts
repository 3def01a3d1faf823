/**
 * `npm run docs`: writes the documentation read from declarations: docs/configuration.md (every
 * setting, configDocs.ts) and docs/clients.md's Apollo Client snippet (clientDocs.ts). The npm
 * script then lets Prettier lay them out; the tests fail when either page is not what this writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'graphql';
import { projectFile } from '../projectFiles.js';
import { withApolloClientSnippet } from './clientDocs.js';
import { configurationMarkdown } from './configDocs.js';

writeFileSync(projectFile('docs/configuration.md'), configurationMarkdown());
const clients = projectFile('docs/clients.md');
const schema = parse(readFileSync(projectFile('schema.graphql'), 'utf8'));
writeFileSync(clients, withApolloClientSnippet(readFileSync(clients, 'utf8'), schema));
