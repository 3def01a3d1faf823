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
 *   When the snapshot is ready it waits for a turn in the same gate as queries
 *   (limits/runtime.ts), with the same weight and in the same fair queue, and keeps it until
 *   the snapshot is out (or the request deadline passes).
 */
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../publicErrors.js';
import type { LiveError } from '../live/poller.js';
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
 * Admits a subscription's document, starts its stream, and takes the snapshot's turn in the gate
 * when the snapshot is ready (not while the first poll is awaited: a turn is held only while
 * there is work to do). The stream it returns gives everything back: the turn once the snapshot
 * is out, the document when the stream ends. A snapshot refused a turn (the gate is full) sends
 * the refusal instead, and the stream goes on with live events.
 */
export async function admitSubscription<T>(
  request: AdmissionRequest,
  start: (
    beforeSnapshot: (items: number) => Promise<LiveError | undefined>,
  ) => AsyncIterableIterator<T>,
): Promise<AsyncIterableIterator<T>> {
  const letGo = request.documents.hold(
    request.client,
    request.document.hash,
    request.document.bytes,
  );
  let ended = false;
  let giveTurnBack = () => {};
  const beforeSnapshot = async (items: number): Promise<LiveError | undefined> => {
    if (items === 0 || request.snapshotWeight === 0 || ended) return undefined;
    try {
      const release = await request.gate.acquire(
        request.snapshotWeight,
        Date.now() + request.timeoutMs,
        request.client,
      );
      // A reader that never reads keeps its turn no longer than a query's deadline.
      const timer = setTimeout(release, request.timeoutMs);
      timer.unref();
      giveTurnBack = () => {
        clearTimeout(timer);
        release();
      };
      if (ended) giveTurnBack();
      return undefined;
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
      return { message: error.message, extensions };
    }
  };
  try {
    return tracked(
      start(beforeSnapshot),
      () => giveTurnBack(),
      () => {
        ended = true;
        giveTurnBack();
        letGo();
      },
    );
  } catch (error) {
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
      // Each item is executed and written in a turn of the event loop of its own. Queued items
      // are otherwise read, executed and sent in one chain of microtasks (ws calls back a write
      // that the kernel took at once before any I/O runs): a snapshot of 100 heavy events, then
      // the next one admitted by the gate, held every other request's I/O for seconds.
      await new Promise((resolve) => setImmediate(resolve));
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
