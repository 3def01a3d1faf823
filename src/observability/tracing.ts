/**
 * OpenTelemetry traces. The gateway only uses @opentelemetry/api: without a registered tracer
 * provider every span is a no-op. `startTracing` registers one when the configuration says
 * the standard OTEL_* variables ask for an exporter (`tracing.enabled`, off by default), with
 * W3C trace-context propagation so a federated router's trace continues through us.
 */
import { context, propagation, trace, type Context, type Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

export const tracer = (): Tracer => trace.getTracer('polyv-graphql');

/**
 * Registers a tracer provider exporting to `exporter` (OTLP over HTTP, configured by OTEL_*, by
 * default). The SDK and the exporter are loaded here, only when traces are asked for.
 */
export async function startTracing(exporter?: SpanExporter): Promise<NodeTracerProvider> {
  const [{ BatchSpanProcessor }, { NodeTracerProvider }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/sdk-trace-node'),
  ]);
  const spanExporter =
    exporter ?? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter();
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(spanExporter)],
  });
  provider.register();
  return provider;
}

/** The context of an incoming request: its traceparent, if any. */
export function incomingContext(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), headers);
}
