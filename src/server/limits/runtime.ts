/**
 * What one operation may take while it runs (an Apollo plugin and the gate it waits at). After
 * parsing and validation, the operation is measured with the arguments the executor will use
 * (cost.ts: depth, aliases, root fields, list sizes, cost, upstream calls and records, in time
 * linear in the document, with the schema's @cost and @listSize); then it takes a turn at the
 * execution gate, weighing what it will hold. Its estimate aside, guarantees hold whatever it
 * does: how many operations execute at once (the rest wait in a bounded queue) and how large an
 * answer may be (checked on its bytes, server/graphqlHandler.ts). The upstream calls one
 * operation may make, and the records of the pages it keeps, are counted where every call passes:
 * src/polyv/pages.ts (`CallBudget`, `RecordBudget`).
 *
 * The request's shape is checked before all this (server/requestShape.ts), and our validation
 * rules run with graphql-js's (validation.ts).
 */
import { GraphQLError } from 'graphql';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ErrorCode } from '../../publicErrors.js';
import { FairQueue } from '../../ratelimit/fairQueue.js';
import { limitExceeded, measureRequest, type CostLimits } from './cost.js';

export interface QueryLimits extends CostLimits {
  maxDocumentBytes: number;
  /** Operations executing at once, and how many more may wait for a turn. */
  maxConcurrentOperations: number;
  /** Records all running operations may hold together (their estimates): what bounds the heap. */
  maxRecordsInFlight: number;
  maxQueuedOperations: number;
}

/**
 * Answer fields (cost) that weigh as much as one record held: a red pack with 20 receives,
 * every field asked, is about 200 fields and 11.7 kB held; its part of the answer being built
 * is of the same order. So a query of many cheap fields and few records still takes its share.
 */
const COST_PER_RECORD = 100;

/** What an operation may hold while it runs, in records: its pages or its answer. */
export const heldWeight = (measure: { records: number; cost: number }) =>
  Math.max(measure.records, Math.ceil(measure.cost / COST_PER_RECORD));

/** The one execution gate of a server: queries and subscription snapshots take turns in it. */
export const executionGate = (limits: QueryLimits) =>
  new ConcurrencyGate({
    maxActive: limits.maxConcurrentOperations,
    maxRecords: limits.maxRecordsInFlight,
    maxQueued: limits.maxQueuedOperations,
  });

export function queryLimitsPlugin(
  limits: QueryLimits,
  gate: ConcurrencyGate,
): ApolloServerPlugin<{ deadline: number; client: string }> {
  return {
    async requestDidStart() {
      let release: (() => void) | undefined;
      return {
        async didResolveOperation({ document, operation, request, schema, contextValue }) {
          if (!operation) return;
          const measure = measureRequest(schema, document, operation, request.variables, limits);
          if (!measure) return;
          release = await gate.acquire(
            heldWeight(measure),
            contextValue.deadline,
            contextValue.client,
          );
        },
        async willSendResponse() {
          release?.();
          release = undefined;
        },
      };
    },
  };
}

/** Seconds a client is told to wait when every execution slot and queue place is taken. */
const BUSY_RETRY_AFTER_S = 1;

/**
 * Admits operations by what they may hold, not only by how many they are: each operation weighs
 * the records its estimate says it will fetch and keep (at least 1), and at most `maxRecords`
 * of them, in at most `maxActive` operations, are held at once. So a burst of small queries runs
 * side by side while heavy ones take turns, and the heap stays bounded by the records in flight
 * (docs/security.md, Limits) however clients mix their requests.
 *
 * Waiters queue per client and are served in turn (the same FairQueue as the upstream's), so one
 * client's flood never stands between another client and a slot; within the turn order nobody
 * overtakes, so a heavy operation is never starved by light ones. Up to `maxQueued` wait, each
 * until its deadline; when the queue is full, the client with the longest queue gives up its
 * newest waiter, and past that the newcomer gets a coded refusal (SERVER_BUSY, HTTP 503).
 */
export class ConcurrencyGate {
  private active = 0;
  private held = 0;
  private readonly waiting = new FairQueue<Waiter>();

  constructor(
    private readonly limits: { maxActive: number; maxRecords: number; maxQueued: number },
  ) {}

  /** Records held by running operations, for metrics and tests. */
  get recordsHeld(): number {
    return this.held;
  }

  /**
   * Resolves with the function that gives the weight back (call it exactly once). `client`
   * tells clients apart for their turns (the API key's name, else the address).
   */
  async acquire(records: number, deadline: number, client = ''): Promise<() => void> {
    // An operation may never weigh more than the whole gate (its own budget is smaller).
    const weight = Math.min(Math.max(1, records), this.limits.maxRecords);
    if (this.waiting.size === 0 && this.fits(weight)) {
      this.count(weight);
      return this.releaser(weight);
    }
    if (this.waiting.size >= this.limits.maxQueued) {
      const shed = this.waiting.shedFor(client);
      if (!shed) throw this.full();
      shed.refuse(this.full());
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        weight,
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
        refuse: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(
        () => {
          this.waiting.remove(client, waiter);
          reject(busy('no execution slot came free before the request deadline'));
          // A heavy waiter leaving may let lighter ones behind it in.
          this.admitWaiters();
        },
        Math.max(0, deadline - Date.now()),
      );
      // A deadline alone keeps no process alive: the server's sockets do while it serves.
      timer.unref();
      this.waiting.push(client, waiter);
    });
    // admitWaiters() counted the weight when it let this waiter in.
    return this.releaser(weight);
  }

  private full(): GraphQLError {
    return busy(
      `${this.active} operations holding ${this.held} records are running and ${this.waiting.size} waiting`,
    );
  }

  private fits(weight: number): boolean {
    return this.active < this.limits.maxActive && this.held + weight <= this.limits.maxRecords;
  }

  private count(weight: number): void {
    this.active++;
    this.held += weight;
  }

  private releaser(weight: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.held -= weight;
      this.admitWaiters();
    };
  }

  /** Lets in, in turn, every waiter that now fits; stops at the first that does not. */
  private admitWaiters(): void {
    for (;;) {
      const next = this.waiting.peek();
      if (!next || !this.fits(next.weight)) return;
      this.waiting.shift();
      // Counted now, so the next waiter sees the weight taken.
      this.count(next.weight);
      next.admit();
    }
  }
}

interface Waiter {
  weight: number;
  admit(): void;
  refuse(error: GraphQLError): void;
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

/** The error an answer over the size bound is replaced by: never a truncated answer. */
export function answerTooLarge(max: number) {
  return limitExceeded(
    'responseSize',
    `The answer would be over ${max} bytes; ask for fewer records or fields.`,
    { max },
  );
}
