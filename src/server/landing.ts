/**
 * GET /: what is where. A browser gets a small page of links; curl and scripts get the same as
 * JSON. On the built-in emulator it also lists the demo channels and their live sessions, the
 * ids a newcomer needs for a first query (they are otherwise only in the emulator's code).
 */
import express, { type Request, type Router } from 'express';
import { pageSecurityHeaders } from './playground.js';

/** A demo channel of the built-in emulator, as the landing page names it. */
export interface DemoChannelSummary {
  channelId: string;
  name: string;
  sessionIds: readonly string[];
  redPackCount: number;
  incomeCount: number;
}

export interface LandingOptions {
  /** Where GraphQL is served, e.g. /graphql. */
  endpoint: string;
  /** The playground is at the endpoint for browsers; the dashboard at this path. Absent: off. */
  dashboardPath: string | undefined;
  playground: boolean;
  /** /metrics on this port (else elsewhere, or nowhere). */
  metricsOnMainPort: boolean;
  /** Present when serving the built-in emulator's demo data. */
  demoChannels: readonly DemoChannelSummary[] | undefined;
}

const prefersHtml = (request: Request) =>
  request.accepts(['application/json', 'text/html']) === 'text/html';

export function landingRouter(options: LandingOptions): Router {
  const index = {
    service: 'polyv-graphql',
    graphql: options.endpoint,
    playground: options.playground ? options.endpoint : null,
    dashboard: options.dashboardPath ?? null,
    health: '/healthz',
    readiness: '/readyz',
    metrics: options.metricsOnMainPort ? '/metrics' : null,
    demo: options.demoChannels
      ? {
          note: 'Demo data from the built-in Polyv emulator (no Polyv credentials are set).',
          channels: options.demoChannels,
        }
      : null,
  };
  const page = renderPage(index, options.demoChannels);
  const securityHeaders = pageSecurityHeaders();
  const router = express.Router();
  router.get('/', (request, response) => {
    if (!prefersHtml(request)) {
      response.set('cache-control', 'no-store').json(index);
      return;
    }
    securityHeaders(request, response, () => {
      response.type('html').set('cache-control', 'no-store').send(page);
    });
  });
  return router;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character]!,
  );

function renderPage(
  index: Record<string, unknown>,
  demoChannels: readonly DemoChannelSummary[] | undefined,
): string {
  const link = (label: string, path: unknown, what: string) =>
    typeof path === 'string'
      ? `<li><a href="${escapeHtml(path)}">${escapeHtml(label)}</a> <code>${escapeHtml(path)}</code>: ${escapeHtml(what)}</li>`
      : '';
  const demo = demoChannels
    ? `<h2>Demo data</h2>
    <p>No Polyv credentials are set: the gateway serves demo data from its built-in Polyv emulator.</p>
    <table>
      <thead><tr><th>Channel</th><th>Name</th><th>Live sessions</th><th>Red packs</th><th>Income records</th></tr></thead>
      <tbody>
${demoChannels
  .map(
    (channel) =>
      `        <tr><td><code>${escapeHtml(channel.channelId)}</code></td><td>${escapeHtml(channel.name)}</td><td>${channel.sessionIds.map((id) => `<code>${escapeHtml(id)}</code>`).join(' ')}</td><td>${channel.redPackCount}</td><td>${channel.incomeCount}</td></tr>`,
  )
  .join('\n')}
      </tbody>
    </table>`
    : '';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>polyv-graphql</title>
    <style>
      body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; padding: 0 1rem; color: #1d2330; }
      code { background: #f1f3f6; padding: 0 .25rem; border-radius: 3px; }
      table { border-collapse: collapse; width: 100%; display: block; overflow-x: auto; }
      th, td { text-align: left; padding: .25rem .75rem .25rem 0; border-bottom: 1px solid #e3e6ea; }
    </style>
  </head>
  <body>
    <h1>polyv-graphql</h1>
    <p>Polyv red packs and income as one typed GraphQL API (an Apollo Federation v2 subgraph).</p>
    <ul>
      ${link('GraphQL', index['graphql'], 'POST queries here (a browser opening it gets the playground, when on)')}
      ${link('Playground', index['playground'], 'GraphiQL, with the docs of every type and field')}
      ${link('Dashboard', index['dashboard'], "an example client: a channel's income and red packs")}
      ${link('Health', index['health'], 'liveness')}
      ${link('Readiness', index['readiness'], 'whether the gateway should get traffic')}
      ${link('Metrics', index['metrics'], 'Prometheus')}
    </ul>
    ${demo}
  </body>
</html>
`;
}
