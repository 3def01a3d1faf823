/**
 * Which Node runs what: the image on Node 24 (the Active LTS line); the suite on Node 24 too by
 * default, whatever the system's Node (scripts/jest.sh, on the dev dependency `node@24`), or on
 * the system's with TEST_NODE=system; and the versions the README promises are the ones
 * package.json accepts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';

const ROOT = new URL('..', import.meta.url).pathname;
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  engines: { node: string };
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
  allowScripts?: Record<string, boolean>;
};

/** PATH without node_modules/.bin, where npm (and scripts/jest.sh) put Node 24 first. */
const systemPath = (process.env.PATH ?? '')
  .split(':')
  .filter((dir) => !dir.endsWith('/node_modules/.bin'))
  .join(':');

/** `scripts/jest.sh --version` (jest's own version) with TEST_NODE as given. */
function jestScript(testNode: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TEST_NODE;
  if (testNode !== undefined) env.TEST_NODE = testNode;
  return spawnSync('bash', [path.join(ROOT, 'scripts/jest.sh'), '--version'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
}

describe('the Node versions', () => {
  it('builds and runs the image on Node 24, in every stage', () => {
    const bases = [...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((match) => match[1]);
    expect(bases).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
  });

  it('runs jest on Node 24 by default, and on the system Node with TEST_NODE=system', () => {
    const byDefault = jestScript(undefined);
    expect([byDefault.status, byDefault.stdout.trim()]).toEqual([
      0,
      expect.stringMatching(/^29\./),
    ]);
    expect(byDefault.stderr).toMatch(
      /^jest on Node v24\.\d+\.\d+ \(.*\/node_modules\/\.bin\/node\)$/m,
    );

    const systemNode = spawnSync('bash', ['-c', 'command -v node'], {
      env: { ...process.env, PATH: systemPath },
      encoding: 'utf8',
    }).stdout.trim();
    const systemVersion = spawnSync(systemNode, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const onSystem = jestScript('system');
    expect(onSystem.status).toBe(0);
    expect(onSystem.stderr).toContain(`jest on Node ${systemVersion} (${systemNode})`);

    const unknown = jestScript('20');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('TEST_NODE is 24 (the default) or system, not "20"');
  });

  it('is what the README test line and CI run', () => {
    expect(pkg.scripts['test:jest']).toBe('bash scripts/jest.sh');
    expect(pkg.scripts.test).toMatch(/&& npm run test:jest$/);
    // Node 24 from the npm registry, its binary fetched by its install script (allowed by name).
    expect(pkg.devDependencies.node).toMatch(/^\^24\./);
    expect(pkg.allowScripts).toEqual({ node: true });
    const readme = read('README.md');
    const testLine = /Run every test[^]*?```sh\n(.+)\n```/.exec(readme)?.[1];
    expect(testLine).toBe('npm ci && npm test');
    expect(read('.ci/run')).toContain(`\n${testLine}\n`);
  });

  it('supports in the README what package.json accepts: Node 20.11 on, 22 and 24', () => {
    expect(pkg.engines.node).toBe('>=20.11');
    expect(read('README.md')).toContain('supported 20 (from 20.11), 22 and 24');
  });
});
