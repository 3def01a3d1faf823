/**
 * `npm run sdl`: prints this subgraph's SDL (with federation directives) on stdout, for
 * `rover subgraph publish --schema -` or a composition pipeline. Needs no configuration.
 */
import { printSubgraphSchema } from '@apollo/subgraph';
import { buildSchema } from '../schema/index.js';

process.stdout.write(`${printSubgraphSchema(buildSchema())}\n`);
