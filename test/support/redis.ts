/**
 * Redis for tests. The shared instance is the machine's (REDIS_URL, default 127.0.0.1:6379;
 * npm test starts it when missing): a test fails, never skips, when it is unreachable. Tests
 * that stop Redis start a private redis-server on a free port instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test run uses, so runs and suites never share state by accident. */
export const uniquePrefix = (name: string) => `test:${name}:${process.pid}:${Date.now()}:`;

/** Throws (failing the test) if the shared Redis does not answer PING. */
export async function requireSharedRedis(): Promise<void> {
  const client = new Redis(SHARED_REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    if ((await client.ping()) !== 'PONG') throw new Error('no PONG');
  } catch (error) {
    throw new Error(
      `Redis at ${SHARED_REDIS_URL} is required for these tests: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    client.disconnect();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  server.close();
  return port;
}

/** A redis-server of the test's own, which the test may stop and start again on the same port. */
export class PrivateRedis {
  private process: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // DEBUG is allowed for local connections so the test can make this instance slow.
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--enable-debug-command',
      'local',
    ];
    this.process = spawn('redis-server', args, {
      stdio: 'ignore',
    });
    // Ready when it answers.
    for (let attempt = 0; attempt < 100; attempt++) {
      const client = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      try {
        await client.connect();
        await client.ping();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        client.disconnect();
      }
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Makes Redis unresponsive for a while (it is single-threaded: everything waits). */
  async sleep(seconds: number): Promise<void> {
    const client = new Redis(this.url, { maxRetriesPerRequest: 0 });
    void client.call('DEBUG', 'SLEEP', String(seconds)).finally(() => client.disconnect());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
