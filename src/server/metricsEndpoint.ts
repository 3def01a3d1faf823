/** GET /metrics: the Prometheus exposition, on the main port or METRICS_PORT (gateway.ts). */
import { createHash, timingSafeEqual } from 'node:crypto';
import type express from 'express';
import type { GatewayMetrics } from '../observability/metrics.js';
import { ErrorCode } from '../publicErrors.js';
import { sendGraphQLError } from './httpErrors.js';

/** Prometheus text exposition of the gateway's registry, behind `token` when there is one. */
export function metricsHandler(
  metrics: GatewayMetrics,
  token: string | undefined,
): express.RequestHandler {
  const expected = token === undefined ? undefined : sha256(`Bearer ${token}`);
  return async (request, response, next) => {
    // Hashes of equal length, compared in constant time: the token does not leak by timing.
    if (expected && !timingSafeEqual(sha256(request.headers.authorization ?? ''), expected)) {
      return sendGraphQLError(
        response,
        401,
        ErrorCode.Unauthenticated,
        'Metrics need the metrics token: "Authorization: Bearer <METRICS_TOKEN>".',
        { headers: { 'www-authenticate': 'Bearer realm="metrics"' } },
      );
    }
    try {
      response.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
