#!/usr/bin/env node
/**
 * Composes a supergraph from a rover-style supergraph.yaml (subgraphs with a routing_url and a
 * schema file) with @apollo/composition, and prints it on stdout: what
 * `rover supergraph compose --config` does, without installing rover.
 *
 *   node scripts/compose-supergraph.mjs deploy/supergraph.yaml > deploy/supergraph.graphql
 *
 * The file's `federation_version` is read, not ignored: rover composes with exactly the version
 * it pins (`=2.14.4`), so this script composes only when the pin is the installed
 * @apollo/composition's version, and when every subgraph's `@link` to federation is one that
 * version knows. A pin that cannot compose fails here as it would for rover, never silently.
 *
 * Composition errors and hints go to stderr; errors exit 1 with nothing on stdout.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { Kind, parse } from 'graphql';
import { parse as parseYaml } from 'yaml';

const configPath = process.argv[2];
if (!configPath) {
  process.stderr.write('usage: compose-supergraph.mjs <supergraph.yaml>\n');
  process.exit(2);
}

/** Mistakes in the inputs: each said on stderr in one line, exit 1. */
function fail(...messages) {
  for (const message of messages) process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

const installed = createRequire(import.meta.url)('@apollo/composition/package.json').version;
const config = parseYaml(readFileSync(configPath, 'utf8'));

// rover's pin: `=X.Y.Z` composes with exactly that version.
const pinned = /^=(\d+)\.(\d+)\.(\d+)$/.exec(String(config.federation_version ?? '').trim());
if (!pinned)
  fail(
    `${configPath}: federation_version must pin one composition version, e.g. =${installed} (got ${JSON.stringify(config.federation_version ?? null)})`,
  );
const pin = pinned[0].slice(1);
const [pinMajor, pinMinor] = [Number(pinned[1]), Number(pinned[2])];

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

// Composition X.Y knows federation up to vX.Y: a subgraph linking a later one cannot compose
// with the pin (composition 2.5 answers "Invalid version v2.9 for the federation feature").
const tooNew = services.flatMap(({ name, typeDefs }) => {
  const linked = federationLink(typeDefs);
  return linked &&
    (linked.major > pinMajor || (linked.major === pinMajor && linked.minor > pinMinor))
    ? [
        `subgraph ${name} links federation v${linked.major}.${linked.minor}, which composition ${pin} (federation_version: =${pin} in ${configPath}) cannot compose: pin =${linked.major}.${linked.minor}.0 or later`,
      ]
    : [];
});
const mismatch =
  pin === installed
    ? []
    : [
        `${configPath} pins federation_version =${pin}, but @apollo/composition ${installed} is installed: pin =${installed} (the version this script composes with), or install @apollo/composition@${pin}`,
      ];
if (tooNew.length > 0 || mismatch.length > 0) fail(...tooNew, ...mismatch);

const result = composeServices(services);
for (const hint of result.hints ?? []) process.stderr.write(`hint: ${hint.toString()}\n`);
if (result.errors) fail(...result.errors.map((error) => error.message));
process.stdout.write(`${result.supergraphSdl}\n`);

/** The federation version a subgraph's schema `@link`s to (`…/federation/v2.9`), if any. */
function federationLink(document) {
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.SCHEMA_DEFINITION && definition.kind !== Kind.SCHEMA_EXTENSION)
      continue;
    for (const directive of definition.directives ?? []) {
      if (directive.name.value !== 'link') continue;
      const url = directive.arguments?.find((argument) => argument.name.value === 'url')?.value;
      const version = url?.kind === Kind.STRING && /\/federation\/v(\d+)\.(\d+)$/.exec(url.value);
      if (version) return { major: Number(version[1]), minor: Number(version[2]) };
    }
  }
  return undefined;
}
