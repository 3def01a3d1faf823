/**
 * `npm start` builds before it serves, but only what changed: `tsc -b` with the build info kept
 * in dist/. Proven on a scratch project with our own tsconfig files and build command, so the
 * real dist/ (which other suites run) is never touched.
 */
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const ROOT = new URL('..', import.meta.url).pathname;
const scripts = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');

const project = mkdtempSync(path.join(tmpdir(), 'polyv-graphql-build-'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Runs `npm run build`'s command in the scratch project; returns tsc's --verbose report. */
function build(): string {
  const [command, ...args] = scripts.build!.split(' ');
  expect(command).toBe('tsc');
  return execFileSync(process.execPath, [TSC, ...args, '--verbose'], {
    cwd: project,
    encoding: 'utf8',
  });
}

function writeSource(file: string, text: string, mtime: Date): void {
  const full = path.join(project, 'src', file);
  writeFileSync(full, text);
  utimesSync(full, mtime, mtime);
}

describe('npm start', () => {
  it('builds first, with the build command', () => {
    expect(scripts.start).toBe(`${scripts.build} && node dist/src/index.js`);
  });

  it('rebuilds after a source changes or dist/ goes, and skips the build otherwise', () => {
    for (const file of ['tsconfig.json', 'tsconfig.build.json'])
      cpSync(path.join(ROOT, file), path.join(project, file));
    // ES modules, as in our package.json.
    writeFileSync(path.join(project, 'package.json'), '{ "type": "module" }\n');
    mkdirSync(path.join(project, 'src'));
    // Sources dated in the past, so every later write is unambiguously newer.
    const past = new Date(Date.now() - 3_600_000);
    writeSource('version.ts', "export const version = 'one';\n", past);
    writeSource('index.ts', "export { version } from './version.js';\n", past);
    const emitted = () => readFileSync(path.join(project, 'dist/src/version.js'), 'utf8');

    expect(build()).toMatch(/Building project/);
    expect(emitted()).toContain("'one'");
    const builtAt = statSync(path.join(project, 'dist/src/version.js')).mtimeMs;

    // Nothing changed: nothing is compiled or written.
    expect(build()).toMatch(/is up to date/);
    expect(statSync(path.join(project, 'dist/src/version.js')).mtimeMs).toBe(builtAt);

    // A changed source is rebuilt before anything is served.
    writeSource('version.ts', "export const version = 'two';\n", new Date());
    expect(build()).toMatch(/Building project/);
    expect(emitted()).toContain("'two'");

    // The build info lives in dist/, so removing dist/ can never leave a build "up to date".
    rmSync(path.join(project, 'dist'), { recursive: true });
    expect(build()).toMatch(/Building project/);
    expect(emitted()).toContain("'two'");
  });
});
