#!/usr/bin/env node
/**
 * Composes a supergraph from a rover-style supergraph.yaml (subgraphs with a routing_url and a
 * schema file) with @apollo/composition, and prints it on stdout: what
 * `rover supergraph compose --config` does, without installing rover.
 *
 *   node scripts/compose-supergraph.mjs deploy/supergraph.yaml > deploy/supergraph.graphql
 *
 * Composition errors and hints go to stderr; errors exit 1 with nothing on stdout.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { parse as parseYaml } from 'yaml';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: compose-supergraph.mjs <supergraph.yaml>\n');
  process.exit(2);
}

/** A mistake in the inputs: said on stderr in one line, exit 1. */
function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

const config = parseYaml(readFileSync(configPath, 'utf8'));
const services = Object.entries(config.subgraphs ?? {}).map(([name, subgraph]) => {
  const file = subgraph?.schema?.file;
  if (!file || !subgraph.routing_url)
    fail(`${configPath}: subgraph ${name} needs a routing_url and a schema.file`);
  // Schema files are relative to the config file, as for rover.
  const schemaPath = path.resolve(path.dirname(configPath), file);
  let sdl;
  try {
    sdl = readFileSync(schemaPath, 'utf8');
  } catch {
    fail(`${schemaPath}: missing (for polyv: npm run --silent sdl > ${schemaPath})`);
  }
  return { name, url: subgraph.routing_url, typeDefs: parse(sdl) };
});

const result = composeServices(services);
for (const hint of result.hints ?? []) process.stderr.write(`hint: ${hint.toString()}\n`);
if (result.errors) {
  fail(result.errors.map((error) => error.message).join('\nerror: '));
}
process.stdout.write(`${result.supergraphSdl}\n`);
