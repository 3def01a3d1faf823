/**
 * The bench's load generator, forked by `generateLoad` (bench/load.ts) for one load: autocannon,
 * a closed loop of N connections, each sending its next request when the last one answered. It
 * parses no answer, so it stays light next to the 150 kB answers it reads, and it compares every
 * answer with the expected bytes (a different one is counted as wrong, and fails the targets).
 * The target's CPU time is read around the measured run, so the warm-up is not in it.
 */
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { cpuMsOf, type LoadResult, type LoadSpec } from './load.js';

/**
 * autocannon decodes each chunk of an answer as UTF-8 on its own, so a character split between
 * two chunks comes out as U+FFFD and a right answer would count as wrong. Its queue of answers
 * in progress keeps the chunks instead (views, not copies), and the comparison is of bytes:
 * one memcmp, lighter than the decoding it replaces.
 */
interface Pending {
  body: Buffer | string;
  chunks?: Buffer[];
}
const Queue = createRequire(import.meta.url)('autocannon/lib/pipelinedRequestsQueue.js') as {
  prototype: {
    peek(): Pending | undefined;
    addBody(data: Buffer): void;
    terminateRequest(): Pending | undefined;
  };
};
const terminate = Queue.prototype.terminateRequest;
Queue.prototype.addBody = function (data) {
  const pending = this.peek();
  if (pending) (pending.chunks ??= []).push(data);
};
Queue.prototype.terminateRequest = function () {
  const done = terminate.call(this);
  if (done) done.body = Buffer.concat(done.chunks ?? []);
  return done;
};

/**
 * What may differ (a request id, an alias) is near an answer's start: the pattern is applied to
 * its first HEAD_BYTES only (as latin1, one character a byte, so the bytes come back unchanged),
 * and the rest is compared as bytes. Decoding each whole 260 kB page to a string to replace a
 * request id cost the load generator as much CPU as the emulator spent answering it. A match
 * past the head, or across its end, leaves the answer different: counted wrong, never right.
 */
const HEAD_BYTES = 1024;

function matches(body: unknown, expected: Buffer, pattern: RegExp, replacement: string): boolean {
  if (!Buffer.isBuffer(body)) return false;
  const head = body.subarray(0, HEAD_BYTES).toString('latin1').replace(pattern, replacement);
  const headBytes = Buffer.from(head, 'latin1');
  return (
    expected.length - headBytes.length === body.length - Math.min(body.length, HEAD_BYTES) &&
    expected.subarray(0, headBytes.length).equals(headBytes) &&
    expected.subarray(headBytes.length).equals(body.subarray(HEAD_BYTES))
  );
}

function run(spec: LoadSpec, durationMs: number): Promise<autocannon.Result> {
  let unseen = 0;
  const { unseenQuery, normalise } = spec;
  const pattern = normalise && new RegExp(normalise.pattern);
  const expected = pattern ? spec.expect.replace(pattern, normalise.replacement) : spec.expect;
  const expectedBytes = Buffer.from(expected);
  return autocannon({
    url: spec.url,
    method: spec.method,
    headers: spec.method === 'POST' ? { 'content-type': 'application/json' } : {},
    connections: spec.connections,
    duration: durationMs / 1000,
    ...(unseenQuery === undefined
      ? { body: spec.body }
      : {
          requests: [
            {
              setupRequest: (request) => ({
                ...request,
                body: JSON.stringify({
                  query: unseenQuery.replace('channel(', `unseen${unseen++}: channel(`),
                }),
              }),
            },
          ],
        }),
    verifyBody: pattern
      ? (body) => matches(body, expectedBytes, pattern, normalise.replacement)
      : (body) => Buffer.isBuffer(body) && body.equals(expectedBytes),
  });
}

async function measure(spec: LoadSpec): Promise<LoadResult> {
  if (spec.warmupMs > 0) await run(spec, spec.warmupMs);
  const targetBefore = cpuMsOf(spec.targetPid);
  const ownBefore = process.cpuUsage();
  const result = await run(spec, spec.durationMs);
  const targetMs = cpuMsOf(spec.targetPid) - targetBefore;
  const own = process.cpuUsage(ownBefore);
  const requests = result.requests.total;
  return {
    requests,
    errors: result.errors + result.timeouts + result.non2xx,
    mismatches: result.mismatches,
    seconds: result.duration,
    throughput: requests / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    targetCpuMs: targetMs / requests,
    loadgenCpuMs: (own.user + own.system) / 1000 / requests,
  };
}

process.once('message', (spec: LoadSpec) => {
  measure(spec).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
