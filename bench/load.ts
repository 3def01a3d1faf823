/**
 * How the bench loads a server: a separate load generator process (bench/loadgen.ts, autocannon),
 * so that the bench's own work never competes with what it measures, and the server's CPU time
 * per request read from its own /proc entry.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  /** The body of every request (POST). */
  body?: string;
  /**
   * Every request a query text the target has never seen: `query` with its `channel(` field
   * aliased `unseen<n>`, n counting up. Its answers are checked with the alias put back.
   */
  unseenQuery?: string;
  /** The bytes every answer must be, exactly (after `normalise`, if given). */
  expect: string;
  /** What may differ between answers (a request id, an alias): replaced in each before comparing. */
  normalise?: { pattern: string; replacement: string };
  connections: number;
  warmupMs: number;
  durationMs: number;
  /** The process whose CPU time is charged to the requests (the server under load). */
  targetPid: number;
}

export interface LoadResult {
  requests: number;
  /** Connection errors, timeouts and answers other than 2xx. */
  errors: number;
  /** Answers whose bytes were not the expected ones. */
  mismatches: number;
  seconds: number;
  throughput: number;
  p50: number;
  p99: number;
  /** CPU time (user + system) the target spent per request, in ms. */
  targetCpuMs: number;
  /** CPU time the load generator itself spent per request, in ms. */
  loadgenCpuMs: number;
}

/** Runs one load in a forked load generator process and returns what it measured. */
export function generateLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./loadgen.js', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: LoadResult | undefined;
    child.once('message', (message) => (result = message as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) =>
      result ? resolve(result) : reject(new Error(`the load generator exited with ${code}`)),
    );
    child.send(spec);
  });
}

/** Clock ticks a second in /proc's times (USER_HZ, 100 on Linux whatever the kernel's HZ). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has spent so far, in ms, from /proc/<pid>/stat. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name (which may hold spaces): state first, utime 12th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}
