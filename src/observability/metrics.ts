/**
 * Prometheus metrics (prom-client), one registry per gateway. Names follow Prometheus
 * conventions; label values are bounded (operation names are capped, endpoints and codes are
 * closed sets), so a client cannot blow up the series count.
 */
import client from 'prom-client';
import type { Logger } from '../logger.js';
import type { AttemptEvent } from '../polyv/http.js';

/** Distinct operation names we label by; later ones are counted as "other". */
const MAX_OPERATION_NAMES = 50;

export interface GaugeSources {
  circuitState(): 'closed' | 'halfOpen' | 'open';
  queueDepth(): number;
  inFlight(): number;
  /** undefined when no Redis is configured. */
  redisUp(): boolean | undefined;
  redisFallbacks(): number;
}

export class GatewayMetrics {
  readonly registry = new client.Registry();
  private readonly operationNames = new Set<string>();

  readonly graphqlDuration = new client.Histogram({
    name: 'gateway_graphql_request_duration_seconds',
    help: 'GraphQL requests by operation name, from arrival to answer.',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly graphqlErrors = new client.Counter({
    name: 'gateway_graphql_errors_total',
    help: 'Errors returned to clients, by extensions.code.',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly upstreamDuration = new client.Histogram({
    name: 'gateway_polyv_request_duration_seconds',
    help: 'Attempts to call Polyv, by endpoint and outcome (ok, or the failure reason/code).',
    labelNames: ['endpoint', 'outcome'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
    registers: [this.registry],
  });
  readonly upstreamRetries = new client.Counter({
    name: 'gateway_polyv_retries_total',
    help: 'Retries of calls to Polyv after a transient fault.',
    labelNames: ['endpoint'],
    registers: [this.registry],
  });
  readonly upstreamRejections = new client.Counter({
    name: 'gateway_polyv_rejections_total',
    help: 'Calls the gateway held back to protect Polyv, by reason (CIRCUIT_OPEN, QUEUE_FULL, QUEUE_TIMEOUT, DEADLINE_EXCEEDED).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly cacheHits = new client.Counter({
    name: 'gateway_cache_hits_total',
    help: 'Upstream pages served from the page cache, by endpoint.',
    labelNames: ['endpoint'],
    registers: [this.registry],
  });
  readonly cacheMisses = new client.Counter({
    name: 'gateway_cache_misses_total',
    help: 'Upstream pages not in the page cache (fetched, or joined to a fetch in flight), by endpoint.',
    labelNames: ['endpoint'],
    registers: [this.registry],
  });
  readonly responseCacheHits = new client.Counter({
    name: 'gateway_response_cache_hits_total',
    help: 'Whole answers replayed from the response cache.',
    registers: [this.registry],
  });
  readonly rateLimited = new client.Counter({
    name: 'gateway_rate_limited_total',
    help: 'Requests refused with 429, by API key name (or "anonymous").',
    labelNames: ['key'],
    registers: [this.registry],
  });

  readonly exportDuration = new client.Histogram({
    name: 'gateway_export_duration_seconds',
    help: 'Exports (GET /export/…) by list, format and outcome (complete, refused, failed, disconnected), from arrival to the last byte or the abort.',
    labelNames: ['list', 'format', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly exportRows = new client.Counter({
    name: 'gateway_export_rows_total',
    help: 'Rows sent by exports, by list and format.',
    labelNames: ['list', 'format'],
    registers: [this.registry],
  });
  readonly exportsInFlight = new client.Gauge({
    name: 'gateway_exports_in_flight',
    help: 'Exports streaming (or reading their first pages) in this process.',
    registers: [this.registry],
  });

  readonly liveSubscriptions = new client.Gauge({
    name: 'gateway_live_subscriptions',
    help: 'Subscriptions open in this process, by field.',
    labelNames: ['field'],
    registers: [this.registry],
  });
  readonly livePolls = new client.Counter({
    name: 'gateway_live_polls_total',
    help: 'Polls of a subscribed channel made by this process (each one Polyv page or more; the calls themselves count in gateway_polyv_*).',
    registers: [this.registry],
  });
  readonly liveMessages = new client.Counter({
    name: 'gateway_live_messages_total',
    help: 'Messages handed to subscribers in this process, by kind (event, totals, error).',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly liveDropped = new client.Counter({
    name: 'gateway_live_dropped_total',
    help: 'Subscribers dropped, by reason (SLOW_CONSUMER).',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor(sources: GaugeSources) {
    client.collectDefaultMetrics({ register: this.registry });
    new client.Gauge({
      name: 'gateway_polyv_circuit_state',
      help: 'Upstream circuit breaker: 0 closed, 1 half-open (probing), 2 open (failing fast).',
      registers: [this.registry],
      collect() {
        this.set({ closed: 0, halfOpen: 1, open: 2 }[sources.circuitState()]);
      },
    });
    new client.Gauge({
      name: 'gateway_polyv_queue_depth',
      help: 'Calls to Polyv waiting for a turn (back-off, concurrency slot or token).',
      registers: [this.registry],
      collect() {
        this.set(sources.queueDepth());
      },
    });
    new client.Gauge({
      name: 'gateway_polyv_in_flight',
      help: 'Calls to Polyv in flight.',
      registers: [this.registry],
      collect() {
        this.set(sources.inFlight());
      },
    });
    new client.Gauge({
      name: 'gateway_redis_up',
      help: 'Whether the shared Redis is reachable (1) or not (0); absent without REDIS_URL.',
      registers: [this.registry],
      collect() {
        const up = sources.redisUp();
        if (up !== undefined) this.set(up ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'gateway_redis_fallbacks',
      help: 'Times a Redis command failed and in-process state was used instead (since start).',
      registers: [this.registry],
      collect() {
        this.set(sources.redisFallbacks());
      },
    });
  }

  /** The label for an operation name: bounded, so clients cannot create series at will. */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES || !/^\w{1,64}$/.test(name)) return 'other';
    this.operationNames.add(name);
    return name;
  }
}

/** What each attempt at a Polyv call leaves: its duration (or refusal) and retry as metrics, a debug line. */
export function polyvAttemptObserver(
  metrics: GatewayMetrics,
  log: Logger,
): (attempt: AttemptEvent) => void {
  return (attempt) => {
    if (attempt.refused) metrics.upstreamRejections.inc({ reason: attempt.outcome });
    else
      metrics.upstreamDuration.observe(
        { endpoint: attempt.endpoint, outcome: attempt.outcome },
        attempt.durationMs / 1000,
      );
    if (attempt.retrying) metrics.upstreamRetries.inc({ endpoint: attempt.endpoint });
    log.debug({ ...attempt, durationMs: Math.round(attempt.durationMs * 10) / 10 }, 'polyv call');
  };
}
