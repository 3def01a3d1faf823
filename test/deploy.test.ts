/**
 * deploy/ as one working whole, checked as far as a machine without a container engine can:
 * the compose file parses, every name the router, the supergraph config and the balancer use
 * is a service there, ports meet, every file mounted is in deploy/ or made by the documented
 * steps, and the supergraph composes from `npm run --silent sdl`'s SDL with the same script
 * the steps run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { parse as parseGraphQL, type EnumTypeDefinitionNode } from 'graphql';
import { parse as parseYaml } from 'yaml';

const ROOT = new URL('..', import.meta.url).pathname;
const DEPLOY = path.join(ROOT, 'deploy');
const read = (file: string) => readFileSync(path.join(DEPLOY, file), 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: string[];
}
const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, Service> };
const services = compose.services;
const supergraphConfig = parseYaml(read('supergraph.yaml')) as {
  federation_version: string;
  subgraphs: Record<string, { routing_url: string; schema: { file: string } }>;
};
const routerConfig = parseYaml(read('router.yaml')) as {
  supergraph: { listen: string };
  headers: { subgraphs: Record<string, unknown> };
};
const nginx = read('nginx.conf');
const scratches: string[] = [];
/**
 * A scratch copy of deploy/'s supergraph.yaml (its pin replaced when given), so the repository's
 * deploy/ stays as committed.
 */
function scratchDeploy(federationVersion?: string): string {
  const scratch = mkdtempSync(path.join(tmpdir(), 'polyv-deploy-'));
  scratches.push(scratch);
  const config = read('supergraph.yaml');
  writeFileSync(
    path.join(scratch, 'supergraph.yaml'),
    federationVersion === undefined
      ? config
      : config.replace(/^federation_version: .*$/m, `federation_version: ${federationVersion}`),
  );
  return scratch;
}
/** The installed @apollo/composition's version: what the script composes with. */
const COMPOSITION = (
  JSON.parse(
    readFileSync(path.join(ROOT, 'node_modules/@apollo/composition/package.json'), 'utf8'),
  ) as { version: string }
).version;
let sdl: string | undefined;
/** `npm run --silent sdl`'s SDL (printed once), beside a scratch supergraph.yaml. */
function writeSdl(scratch: string): void {
  sdl ??= execFileSync(process.execPath, [path.join(ROOT, 'dist/src/tools/print-sdl.js')], {
    encoding: 'utf8',
  });
  writeFileSync(path.join(scratch, supergraphConfig.subgraphs.polyv!.schema.file), sdl);
}
/** Runs the compose script on a scratch supergraph.yaml: its exit status and outputs. */
function composeIn(scratch: string): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(
      process.execPath,
      [path.join(ROOT, 'scripts/compose-supergraph.mjs'), path.join(scratch, 'supergraph.yaml')],
      { encoding: 'utf8', stdio: 'pipe' },
    );
    return { status: 0, stdout, stderr: '' };
  } catch (error) {
    return error as { status: number; stdout: string; stderr: string };
  }
}
afterAll(() => {
  for (const scratch of scratches) rmSync(scratch, { recursive: true, force: true });
});
const gateways = Object.keys(services).filter((name) => services[name]!.build === '..');

/** The files the documented steps make (and deploy/.gitignore keeps out of git). */
const MADE_BY_THE_STEPS = ['keys.json', '.env', 'polyv.graphql', 'supergraph.graphql'];

describe('deploy/docker-compose.yml', () => {
  it('runs Redis, two gateway replicas from this repository, a balancer and the router', () => {
    expect(gateways).toEqual(['polyv-graphql-1', 'polyv-graphql-2']);
    expect(existsSync(path.join(DEPLOY, '..', 'Dockerfile'))).toBe(true);
    expect(Object.keys(services).sort()).toEqual(
      ['polyv-graphql', 'polyv-graphql-1', 'polyv-graphql-2', 'redis', 'router'].sort(),
    );
    for (const name of gateways) {
      const environment = services[name]!.environment!;
      // The Redis they share is the one in this file, and they know how many they are.
      expect(new URL(environment.REDIS_URL!).hostname).toBe('redis');
      expect(environment.GATEWAY_REPLICAS).toBe(String(gateways.length));
      // The gateway listens on loopback unless told otherwise: a container must say so.
      expect(environment.HOST).toBe('0.0.0.0');
    }
    expect(read(path.join('..', 'Dockerfile'))).toMatch(/^\s+HOST=0\.0\.0\.0 \\$/m);
  });

  it('depends only on services it defines', () => {
    for (const service of Object.values(services))
      for (const dependency of service.depends_on ?? [])
        expect(Object.keys(services)).toContain(dependency);
  });

  it('mounts only files that are in deploy/ or made by the documented steps, and ignored by git', () => {
    const ignored = read('.gitignore').split('\n');
    const steps = read('docker-compose.yml');
    for (const service of Object.values(services))
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        expect(source).toMatch(/^\.\//);
        const file = source.slice(2);
        if (MADE_BY_THE_STEPS.includes(file)) {
          expect(ignored).toContain(file);
          expect(steps).toMatch(new RegExp(`^#\\s+\\d\\. deploy/${file.replace('.', '\\.')}`, 'm'));
        } else {
          expect(existsSync(path.join(DEPLOY, file))).toBe(true);
        }
      }
  });

  it('starts the router on the files it mounts, listening on the port it publishes', () => {
    const router = services.router!;
    const mounted = (router.volumes ?? []).map((volume) => volume.split(':')[1]);
    const command = router.command!;
    expect(mounted).toContain(command[command.indexOf('--config') + 1]);
    expect(mounted).toContain(command[command.indexOf('--supergraph') + 1]);
    const listenPort = routerConfig.supergraph.listen.split(':').at(-1);
    expect(router.ports!.map((port) => port.split(':').at(-1))).toContain(listenPort);
  });
});

describe('names and ports between the files', () => {
  it('routes every subgraph of supergraph.yaml to a service, on the port it listens on', () => {
    for (const { routing_url: url } of Object.values(supergraphConfig.subgraphs)) {
      const { hostname, port, pathname } = new URL(url);
      expect(Object.keys(services)).toContain(hostname);
      expect(pathname).toBe('/graphql');
      // The balancer is that service; it listens where the routing URL points.
      expect(services[hostname]!.image).toMatch(/^nginx:/);
      expect(nginx).toMatch(new RegExp(`^\\s*listen ${port};`, 'm'));
    }
  });

  it('balances over every gateway replica, on the port they serve', () => {
    const upstreams = [...nginx.matchAll(/^\s*server ([\w-]+):(\d+)\b/gm)].map((match) => ({
      host: match[1],
      port: match[2],
    }));
    expect(upstreams.map((upstream) => upstream.host)).toEqual(gateways);
    for (const { host, port } of upstreams) expect(services[host!]!.environment!.PORT).toBe(port);
    // The compose file mounts this very file where nginx reads it.
    expect(services['polyv-graphql']!.volumes).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
  });

  it('gives the router header rules for the subgraphs supergraph.yaml names', () => {
    expect(Object.keys(routerConfig.headers.subgraphs)).toEqual(
      Object.keys(supergraphConfig.subgraphs),
    );
  });
});

describe('the supergraph', () => {
  it('composes from `npm run --silent sdl` with the script `npm run supergraph` runs', () => {
    const packageScripts = (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(packageScripts.supergraph).toBe(
      'npm run --silent sdl > deploy/polyv.graphql && node scripts/compose-supergraph.mjs deploy/supergraph.yaml > deploy/supergraph.graphql',
    );
    const scratch = scratchDeploy();
    writeSdl(scratch);
    const { status, stdout: supergraph, stderr } = composeIn(scratch);
    expect({ status, stderr }).toEqual({ status: 0, stderr: '' });

    const graphs = parseGraphQL(supergraph).definitions.find(
      (definition): definition is EnumTypeDefinitionNode =>
        definition.kind === 'EnumTypeDefinition' && definition.name.value === 'join__Graph',
    );
    const urls = (graphs?.values ?? []).map((value) =>
      value.directives?.[0]?.arguments?.map((argument) =>
        'value' in argument.value ? String(argument.value.value) : '',
      ),
    );
    expect(urls).toEqual([['polyv', 'http://polyv-graphql:4000/graphql']]);
    expect(supergraph).toMatch(/type Channel\s+@join__type\(graph: POLYV, key: "id"\)/);
  });

  it('pins the composition it composes with: the installed @apollo/composition', () => {
    // rover composes with exactly the pinned version, so the pin is what the tests compose with.
    expect(supergraphConfig.federation_version).toBe(`=${COMPOSITION}`);
  });

  it('refuses a pin that cannot compose our SDL, saying why and what to pin', () => {
    // Composition 2.5 does not know federation v2.9 (`@cost`, `@listSize`): the old pin.
    const scratch = scratchDeploy('=2.5.0');
    writeSdl(scratch);
    const failure = composeIn(scratch);
    expect(failure.status).toBe(1);
    expect(failure.stdout).toBe('');
    expect(failure.stderr).toMatch(
      /^error: subgraph polyv links federation v2\.9, which composition 2\.5\.0 \(federation_version: =2\.5\.0 in .*supergraph\.yaml\) cannot compose: pin =2\.9\.0 or later$/m,
    );
  });

  it('refuses a pin other than the installed composition, and one that pins nothing', () => {
    const [major, minor, patch] = COMPOSITION.split('.').map(Number);
    const other = `${major}.${minor}.${patch! + 1}`;
    let scratch = scratchDeploy(`=${other}`);
    writeSdl(scratch);
    let failure = composeIn(scratch);
    expect(failure.status).toBe(1);
    expect(failure.stdout).toBe('');
    expect(failure.stderr).toBe(
      `error: ${path.join(scratch, 'supergraph.yaml')} pins federation_version =${other}, but @apollo/composition ${COMPOSITION} is installed: pin =${COMPOSITION} (the version this script composes with), or install @apollo/composition@${other}\n`,
    );

    scratch = scratchDeploy('2');
    writeSdl(scratch);
    failure = composeIn(scratch);
    expect(failure.status).toBe(1);
    expect(failure.stderr).toContain(
      `federation_version must pin one composition version, e.g. =${COMPOSITION} (got 2)`,
    );
  });

  it('links only specs the router of docker-compose.yml reads', () => {
    // Apollo Router 2.x plans with federation 2.9.3: it reads the link, join and cost specs up
    // to those versions. A subgraph linking a later federation (connectors, say) would need a
    // later router; this fails first.
    const router = services.router!.image!;
    expect(router).toMatch(/^ghcr\.io\/apollographql\/router:v2\.\d+\.\d+$/);
    const scratch = scratchDeploy();
    writeSdl(scratch);
    const links = [...composeIn(scratch).stdout.matchAll(/@link\(url: "([^"]+)"/g)].map(
      (match) => match[1],
    );
    expect(links.sort()).toEqual(
      [
        'https://specs.apollo.dev/cost/v0.1',
        'https://specs.apollo.dev/join/v0.5',
        'https://specs.apollo.dev/link/v1.0',
      ].sort(),
    );
  });

  it('fails loudly, with nothing on stdout, when the SDL was not made first', () => {
    const failure = composeIn(scratchDeploy());
    expect(failure.status).toBe(1);
    expect(failure.stdout).toBe('');
    expect(failure.stderr).toMatch(/polyv\.graphql: missing \(for polyv: npm run --silent sdl/);
  });
});
