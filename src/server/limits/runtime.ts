/**
 * Guarantees that hold while an operation runs, whatever its estimate said: how many operations
 * execute at once (the rest wait in a bounded queue), and how large an answer may be. The third,
 * how many upstream calls one operation may make, is kept where every call passes:
 * src/polyv/upstream.ts (`CallBudget`).
 */
import { GraphQLError } from 'graphql';
import { HeaderMap } from '@apollo/server';
import { ErrorCode } from '../../errors.js';
import { limitExceeded } from './cost.js';

/** Seconds a client is told to wait when every execution slot and queue place is taken. */
const BUSY_RETRY_AFTER_S = 1;

/**
 * At most `maxActive` operations execute at once; up to `maxQueued` more wait for a turn, each
 * until its deadline. Past that, a coded refusal (SERVER_BUSY, HTTP 503): memory stays bounded
 * by what `maxActive` operations may hold, not by how many clients ask at once.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxActive: number,
    private readonly maxQueued: number,
  ) {}

  /** Resolves with the function that gives the slot back (call it exactly once). */
  async acquire(deadline: number): Promise<() => void> {
    if (this.active < this.maxActive) {
      this.active++;
      return this.releaser();
    }
    if (this.waiting.length >= this.maxQueued)
      throw busy(`${this.maxActive} operations are running and ${this.maxQueued} waiting`);
    await new Promise<void>((resolve, reject) => {
      const turn = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(
        () => {
          this.waiting.splice(this.waiting.indexOf(turn), 1);
          reject(busy('no execution slot came free before the request deadline'));
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiting.push(turn);
    });
    // The slot was handed over by release(): `active` already counts it.
    return this.releaser();
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }
}

function busy(why: string): GraphQLError {
  return new GraphQLError(`The gateway is busy (${why}); retry shortly.`, {
    extensions: {
      code: ErrorCode.ServerBusy,
      retryAfterSeconds: BUSY_RETRY_AFTER_S,
      http: { status: 503, headers: new HeaderMap([['retry-after', String(BUSY_RETRY_AFTER_S)]]) },
    },
  });
}

/**
 * Bytes `value` takes as JSON, counted without building the string, or undefined as soon as
 * the count passes `max` (the walk stops there). Strings count their UTF-8 bytes plus quotes
 * (escapes are not counted, so it may be slightly under the serialised size).
 */
export function jsonBytesWithin(value: unknown, max: number): number | undefined {
  let bytes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || item === undefined) bytes += 4;
    else if (typeof item === 'string') bytes += Buffer.byteLength(item) + 3;
    else if (typeof item === 'number' || typeof item === 'boolean')
      bytes += String(item).length + 1;
    else if (Array.isArray(item)) {
      bytes += 2;
      for (const element of item) stack.push(element);
    } else if (typeof item === 'object') {
      bytes += 2;
      for (const [key, field] of Object.entries(item)) {
        bytes += Buffer.byteLength(key) + 3;
        stack.push(field);
      }
    }
    if (bytes > max) return undefined;
  }
  return bytes;
}

/** The error an answer over the size bound is replaced by: never a truncated answer. */
export function answerTooLarge(max: number) {
  return limitExceeded(
    'responseSize',
    `The answer would be over ${max} bytes; ask for fewer records or fields.`,
    { max },
  );
}
