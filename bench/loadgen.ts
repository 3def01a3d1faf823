/**
 * The bench's load generator, forked by `generateLoad` (bench/load.ts) for one load: autocannon,
 * a closed loop of N connections, each sending its next request when the last one answered. It
 * decodes every answer but parses none, so it stays light next to the 150 kB answers it reads,
 * and it compares every answer with the expected bytes (a mismatch is counted; the bench refuses
 * the run). The target's CPU time is read around the measured run, so the warm-up is not in it.
 */
import autocannon from 'autocannon';
import { cpuMsOf, type LoadResult, type LoadSpec } from './load.js';

function run(spec: LoadSpec, durationMs: number): Promise<autocannon.Result> {
  let unseen = 0;
  const { unseenQuery, normalise } = spec;
  const pattern = normalise && new RegExp(normalise.pattern);
  const expected = pattern ? spec.expect.replace(pattern, normalise.replacement) : spec.expect;
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
    ...(pattern
      ? { verifyBody: (body) => String(body).replace(pattern, normalise.replacement) === expected }
      : { expectBody: expected }),
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
