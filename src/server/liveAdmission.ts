/**
 * What one subscription may hold while it lives, admitted before its stream starts and given
 * back when it ends, whatever ends it:
 *
 * - **Its document.** A subscription keeps its parsed document (its selection runs on every
 *   event). Documents are shared by text, so what a replica holds is the sum of the distinct
 *   documents its subscriptions keep, estimated in bytes (prepare.ts): bounded per replica, and
 *   per client to a share of that, so one key cannot fill the heap with distinct documents.
 * - **A turn in the execution gate for its snapshot.** `recent: N` sends N red packs at once,
 *   each through the subscription's selection: the work of the query that reads those records.
 *   It waits for a turn in the same gate as queries (limits/runtime.ts), with the same weight,
 *   and keeps it until the snapshot is out (or the request deadline passes).
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../publicErrors.js';
import type { ConcurrencyGate } from './limits/runtime.js';

export interface HeldDocumentLimits {
  /** Estimated bytes of distinct documents this replica's subscriptions may keep. */
  maxBytes: number;
  /** The part of it one client may keep. */
  maxBytesPerClient: number;
}

/** Distinct documents kept by live subscriptions, counted once however many share one. */
export class HeldDocuments {
  private readonly documents = new Map<string, { bytes: number; holders: number }>();
  private readonly byClient = new Map<string, Map<string, number>>();
  private total = 0;

  constructor(private readonly limits: HeldDocumentLimits) {}

  /** Estimated bytes held now, by everyone or one client. */
  bytes(client?: string): number {
    if (client === undefined) return this.total;
    let sum = 0;
    for (const hash of this.byClient.get(client)?.keys() ?? [])
      sum += this.documents.get(hash)?.bytes ?? 0;
    return sum;
  }

  /** Holds a document for a subscription of `client`: the function that lets it go (once). */
  hold(client: string, hash: string, bytes: number): () => void {
    const mine = this.byClient.get(client);
    const known = this.documents.get(hash);
    if (!known && this.total + bytes > this.limits.maxBytes)
      throw documentsLimit(
        'subscriptionDocuments',
        `This gateway's subscriptions hold ${this.total} bytes of documents; the limit is ${this.limits.maxBytes}. Subscribe with a document already in use, or a smaller one.`,
        this.limits.maxBytes,
      );
    if (!mine?.has(hash) && this.bytes(client) + bytes > this.limits.maxBytesPerClient)
      throw documentsLimit(
        'subscriptionDocumentsPerClient',
        `Your subscriptions hold ${this.bytes(client)} bytes of distinct documents; one client may hold ${this.limits.maxBytesPerClient}. Use the same document for your subscriptions (vary the variables, not the text).`,
        this.limits.maxBytesPerClient,
      );
    if (known) known.holders++;
    else {
      this.documents.set(hash, { bytes, holders: 1 });
      this.total += bytes;
    }
    const held = mine ?? new Map<string, number>();
    held.set(hash, (held.get(hash) ?? 0) + 1);
    this.byClient.set(client, held);

    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (held.get(hash) ?? 1) - 1;
      if (left > 0) held.set(hash, left);
      else held.delete(hash);
      if (held.size === 0) this.byClient.delete(client);
      const document = this.documents.get(hash);
      if (document && --document.holders === 0) {
        this.documents.delete(hash);
        this.total -= document.bytes;
      }
    };
  }
}

function documentsLimit(limit: string, message: string, max: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.QueryLimitExceeded, limit, max },
  });
}

export interface AdmissionRequest {
  documents: HeldDocuments;
  gate: ConcurrencyGate;
  client: string;
  /** The document's hash and estimated bytes (prepare.ts). */
  document: { hash: string; bytes: number };
  /** The snapshot's weight in the gate (records); 0: no snapshot, no turn taken. */
  snapshotWeight: number;
  /** The longest a snapshot keeps its turn: the request deadline. */
  timeoutMs: number;
}

/**
 * Admits a subscription (its document, then its snapshot's turn), starts its stream, and wraps
 * the stream so that everything is given back: the turn once the snapshot is out, the rest at
 * the end. If anything fails on the way, what was taken is given back at once.
 */
export async function admitSubscription<T>(
  request: AdmissionRequest,
  start: (snapshotReady: (items: number) => void) => AsyncIterableIterator<T>,
): Promise<AsyncIterableIterator<T>> {
  const letGo = request.documents.hold(
    request.client,
    request.document.hash,
    request.document.bytes,
  );
  let giveTurnBack = () => {};
  try {
    if (request.snapshotWeight > 0) {
      giveTurnBack = await request.gate.acquire(
        request.snapshotWeight,
        Date.now() + request.timeoutMs,
        request.client,
      );
    }
    const timer = setTimeout(() => giveTurnBack(), request.timeoutMs);
    timer.unref();
    const turnBack = () => {
      clearTimeout(timer);
      giveTurnBack();
    };
    // An empty snapshot (or none) needs no turn: given back as soon as that is known.
    const stream = start((items) => {
      if (items === 0) turnBack();
    });
    return tracked(stream, turnBack, () => {
      turnBack();
      letGo();
    });
  } catch (error) {
    giveTurnBack();
    letGo();
    throw error;
  }
}

const PENDING = Symbol('pending');

/** An item of a live stream that belongs to a snapshot (live/hub.ts: SNAPSHOT events). */
const isSnapshot = (item: unknown): boolean =>
  typeof item === 'object' &&
  item !== null &&
  'data' in item &&
  typeof item.data === 'object' &&
  item.data !== null &&
  'kind' in item.data &&
  item.data.kind === 'SNAPSHOT';

/**
 * The stream, calling `snapshotOut` once no snapshot item is left to read (a live item arrives,
 * or the reader asks for more when nothing is waiting: the snapshot arrives whole), and `ended`
 * when the stream ends, whoever ends it.
 */
function tracked<T>(
  stream: AsyncIterableIterator<T>,
  snapshotOut: () => void,
  ended: () => void,
): AsyncIterableIterator<T> {
  let sawSnapshot = false;
  return {
    async next() {
      const next = stream.next();
      if (sawSnapshot) {
        // Nothing ready now: every item of the snapshot has been read and written.
        const ready = await Promise.race([next, Promise.resolve(PENDING)]);
        if (ready === PENDING) snapshotOut();
      }
      const result = await next;
      if (result.done) ended();
      else if (isSnapshot(result.value)) sawSnapshot = true;
      else snapshotOut();
      return result;
    },
    async return(value?: unknown) {
      ended();
      return (await stream.return?.(value)) ?? { value: undefined as T, done: true };
    },
    async throw(error?: unknown) {
      ended();
      if (stream.throw) return stream.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
