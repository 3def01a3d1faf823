// Live updates for the example dashboard: GraphQL subscriptions over Server-Sent Events, read
// with fetch. No library: graphql-sse's "distinct connections" are one POST per subscription
// with `Accept: text/event-stream`, answered by a stream of `event: next` / `data: {json}`
// blocks and, when the subscription is over, `event: complete`. fetch (unlike EventSource) can
// POST and set headers, so the API key travels in `Authorization` exactly as it does for queries.
//
// LiveStreams.open keeps several subscriptions open together. When one of them ends or fails
// unexpectedly, all are closed and opened again after a backoff, so each starts afresh (a
// subscription that asks for a snapshot gets a new one). A question the gateway refuses (HTTP
// 4xx) is not asked again.
(function () {
  'use strict';

  const FIRST_RETRY_MS = 1000;
  const MAX_RETRY_MS = 30_000;
  // graphql-sse writes a comment every 12 s: a stream silent for much longer than that is dead
  // (a laptop that slept, a proxy that dropped the connection without closing it).
  const STALL_MS = 40_000;

  /** Why a stream stopped: `retry` (try again later) or `stop` (the question was refused). */
  class StreamEnded extends Error {
    constructor(message, { retry, status, errors, retryAfterMs } = {}) {
      super(message);
      this.retry = retry;
      this.status = status;
      this.errors = errors;
      this.retryAfterMs = retryAfterMs;
    }
  }

  /** One block of an event stream ("event: next\ndata: {…}") as { event, data }; undefined for comments. */
  function parseBlock(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0 && event === 'message') return undefined;
    return { event, data: data.join('\n') };
  }

  /** Reads a response body as an event stream; `onBlock` per event, `onBytes` per chunk. */
  async function readEventStream(body, onBlock, onBytes) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onBytes();
      // Lines may end in CRLF, LF or CR; a CR at the very end may be half of a CRLF.
      buffer = (buffer + value).replace(/\r\n/g, '\n').replace(/\r(?!$)/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (block) onBlock(block);
      }
    }
  }

  /**
   * One subscription, once: resolves when the gateway ends the stream (`complete` or the end of
   * the response), rejects with a StreamEnded when it refuses or cannot be reached.
   */
  async function subscribeOnce(endpoint, subscription, headers, signal, handlers) {
    let response;
    try {
      response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          ...headers,
          // Exactly this value: it is how the gateway tells a subscription from a query.
          accept: 'text/event-stream',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          query: subscription.query,
          variables: subscription.variables,
          operationName: subscription.operationName,
        }),
        cache: 'no-store',
        signal,
      });
    } catch (error) {
      throw new StreamEnded(`Could not reach the gateway: ${error.message}`, { retry: true });
    }
    const type = response.headers.get('content-type') || '';
    if (!response.ok || !type.startsWith('text/event-stream')) {
      const body = await response.json().catch(() => ({}));
      const errors =
        Array.isArray(body.errors) && body.errors.length > 0
          ? body.errors
          : [{ message: `HTTP ${response.status} ${response.statusText}` }];
      const retryAfter = Number(response.headers.get('retry-after'));
      const status = response.status;
      throw new StreamEnded(errors[0].message, {
        // Busy, rate-limited or broken for now: later. Anything else 4xx: the question is wrong.
        retry: status === 408 || status === 429 || status >= 500,
        status,
        errors,
        retryAfterMs: retryAfter > 0 ? retryAfter * 1000 : undefined,
      });
    }
    handlers.open();
    try {
      await readEventStream(
        response.body,
        ({ event, data }) => {
          if (event === 'next') handlers.next(JSON.parse(data));
        },
        handlers.bytes,
      );
    } catch (error) {
      throw new StreamEnded(`The connection was lost: ${error.message}`, { retry: true });
    }
  }

  /**
   * Opens every subscription of `options.subscriptions` ({ name, query, variables,
   * operationName }) and keeps them open:
   *   headers()                    request headers (the API key), read at every (re)connection
   *   onConnect(attempt)           a (re)connection starts; attempt 0 is the first
   *   onOpen(name)                 the gateway accepted that subscription
   *   onNext(name, payload)        a `next` message: { data } and/or { errors }
   *   onRetry({ delayMs, reason }) a stream ended unexpectedly; all reconnect after delayMs
   *   onStop({ status, errors })   the gateway refused; nothing more will be tried
   * Returns { close() }; nothing is called after close().
   */
  function open(options) {
    let closed = false;
    let attempt = 0;
    let retryTimer;
    let controller;

    function connect() {
      retryTimer = undefined;
      if (closed) return;
      const current = new AbortController();
      controller = current;
      let over = false;
      let stallTimer;
      const alive = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(
          () => finish(new StreamEnded('No word from the gateway', { retry: true })),
          STALL_MS,
        );
      };
      /** The first stream to end ends this connection: the others are closed with it. */
      const finish = (ended) => {
        if (over || closed) return;
        over = true;
        clearTimeout(stallTimer);
        current.abort();
        if (!ended.retry) {
          closed = true;
          window.removeEventListener('online', reconnectNow);
          options.onStop({ status: ended.status, errors: ended.errors });
          return;
        }
        const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt);
        // Spread out: every page that lost the gateway at once must not come back at once.
        const delayMs = Math.round(
          Math.max(backoff * (0.8 + 0.4 * Math.random()), ended.retryAfterMs || 0),
        );
        attempt++;
        options.onRetry({ delayMs, reason: ended.message });
        retryTimer = setTimeout(connect, delayMs);
      };

      options.onConnect(attempt);
      alive();
      const headers = options.headers();
      for (const subscription of options.subscriptions) {
        subscribeOnce(options.endpoint, subscription, headers, current.signal, {
          open: () => !over && !closed && options.onOpen(subscription.name),
          bytes: alive,
          next: (payload) => {
            if (over || closed) return;
            // A message with data: the connection works, so the next failure starts over.
            if (payload.data) attempt = 0;
            options.onNext(subscription.name, payload);
          },
        }).then(
          () => finish(new StreamEnded('The gateway ended the stream', { retry: true })),
          (error) =>
            finish(
              error instanceof StreamEnded
                ? error
                : new StreamEnded(error.message, { retry: true }),
            ),
        );
      }
    }

    /** Back online: no need to wait out the backoff. */
    function reconnectNow() {
      if (retryTimer === undefined || closed) return;
      clearTimeout(retryTimer);
      connect();
    }

    window.addEventListener('online', reconnectNow);
    connect();
    return {
      close() {
        closed = true;
        clearTimeout(retryTimer);
        window.removeEventListener('online', reconnectNow);
        if (controller) controller.abort();
      },
    };
  }

  window.LiveStreams = { open };
})();
