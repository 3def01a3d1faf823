/**
 * Which of our files one request enters, measured rather than read (docs/architecture.md's walk):
 * a gateway built in dist/ as it runs by default (caches on, API keys on) over the built-in
 * emulator, asked `Channel.redPacks(first: 20, after: …)` twice. V8's precise coverage is reset
 * between the two; the files of dist/src/ with a function called during the second, whose page
 * no cache holds yet (so it goes down to got), are the walk.
 *
 *   npm run build && node scripts/trace-walk.mjs
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../dist/src/', import.meta.url));
const { loadConfig } = await import(path.join(SRC, 'config/index.js'));
const { startGateway } = await import(path.join(SRC, 'gateway.js'));
const { createLogger } = await import(path.join(SRC, 'logger.js'));
const { hashApiKey } = await import(path.join(SRC, 'auth/apiKeys.js'));

const KEY = 'walk-key-5c1e9a7b3d2f4e6a';
const keysFile = path.join(mkdtempSync(path.join(tmpdir(), 'walk-keys-')), 'keys.json');
writeFileSync(keysFile, JSON.stringify([{ name: 'walk', sha256: hashApiKey(KEY) }]));
const config = loadConfig({
  NODE_ENV: 'test',
  PORT: '0',
  HOST: '127.0.0.1',
  GATEWAY_AUTH: 'on',
  GATEWAY_API_KEYS_FILE: keysFile,
});
const gateway = await startGateway(config, createLogger({ level: 'silent' }));
const ask = async (after) => {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({
      query: `query($after: String) { channel(id: "2812610") { redPacks(first: 20, after: $after) { edges { cursor node { id } } } } }`,
      variables: { after },
    }),
  });
  return (await response.json()).data.channel.redPacks.edges.at(-1).cursor;
};

const session = new inspector.Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
// The first request compiles the operation and warms every path; its last cursor is `after`.
const after = await ask(null);
await session.post('Profiler.takePreciseCoverage'); // resets the counts
const callsBefore = gateway.emulator.calls.length;
await ask(after);
const { result } = await session.post('Profiler.takePreciseCoverage');
const reachedGot = gateway.emulator.calls.length > callsBefore;
await gateway.stop();
if (!reachedGot) throw new Error('the second request did not reach Polyv: nothing to trace');

const entered = result
  .filter(({ url }) => url.startsWith('file://') && fileURLToPath(url).startsWith(SRC))
  .filter(({ functions }) => functions.some((fn) => fn.ranges[0].count > 0))
  .map(({ url }) => path.relative(SRC, fileURLToPath(url)).replace(/\.js$/, '.ts'))
  .sort();
const folders = new Set(entered.map((file) => path.dirname(file)));
console.log(entered.join('\n'));
console.log(`${entered.length} files in ${folders.size} folders`);
process.exit(0);
