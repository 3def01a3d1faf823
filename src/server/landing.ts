/**
 * GET /: what is where. A browser gets a small page of links; curl and scripts get the same as
 * JSON. On the built-in emulator it also lists the demo channels and their live sessions, the
 * ids a newcomer needs for a first query (they are otherwise only in the emulator's code), the
 * days the demo data covers, and where the emulator's control API listens (a port of its own,
 * picked at start-up).
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

/** The built-in emulator's demo, as the landing page names it. */
export interface DemoSummary {
  channels: readonly DemoChannelSummary[];
  /** The days (CST, yyyy-MM-dd) the demo data covers. */
  firstDay: string;
  lastDay: string;
  /** The emulator's control API, e.g. http://127.0.0.1:41234/__emulator/. */
  controlUrl: string;
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
  demo: DemoSummary | undefined;
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
    demo: options.demo
      ? {
          note: 'Demo data from the built-in Polyv emulator (no Polyv credentials are set).',
          firstDay: options.demo.firstDay,
          lastDay: options.demo.lastDay,
          control: options.demo.controlUrl,
          channels: options.demo.channels,
        }
      : null,
  };
  const page = renderPage(index, options.demo);
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

function renderPage(index: Record<string, unknown>, demo: DemoSummary | undefined): string {
  const link = (label: string, path: unknown, what: string) =>
    typeof path === 'string'
      ? `<li><a href="${escapeHtml(path)}">${escapeHtml(label)}</a> <code>${escapeHtml(path)}</code>: ${escapeHtml(what)}</li>`
      : '';
  const control = demo && escapeHtml(demo.controlUrl);
  // Each cell names its column (data-label), so that a phone can show a row as a card.
  const cell = (label: string, html: string) =>
    `<td data-label="${label}"><span>${html}</span></td>`;
  const demoSection = demo
    ? `<h2>Demo data</h2>
    <p>No Polyv credentials are set: the gateway serves demo data from its built-in Polyv emulator,
      from ${escapeHtml(demo.firstDay)} to ${escapeHtml(demo.lastDay)} (China Standard Time).</p>
    <table class="demo">
      <thead><tr><th>Channel</th><th>Name</th><th>Live sessions</th><th>Red packs</th><th>Income records</th></tr></thead>
      <tbody>
${demo.channels
  .map(
    (channel) =>
      `        <tr>${cell('Channel', `<code>${escapeHtml(channel.channelId)}</code>`)}${cell('Name', escapeHtml(channel.name))}${cell('Live sessions', channel.sessionIds.map((id) => `<code>${escapeHtml(id)}</code>`).join(' '))}${cell('Red packs', String(channel.redPackCount))}${cell('Income records', String(channel.incomeCount))}</tr>`,
  )
  .join('\n')}
      </tbody>
    </table>
    <h2>The emulator's control API</h2>
    <p>For scripts (a browser page is refused): insert red packs, claims and income, start or stop
      live red-pack activity, inject faults and latency, read its counters. It listens on a port of
      its own, picked at start-up:</p>
    <pre data-testid="emulator-control"><code>curl ${control}stats
curl -X POST ${control}live -H 'content-type: application/json' -d '{"channelId": "2812610"}'</code></pre>
    <p>Every action is in <code>docs/operations.md</code> (The built-in Polyv emulator).
      <code>EMULATOR_LIVE=2812610 npm start</code> starts with that channel live.</p>`
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
      pre { font-size: .875rem; background: #f1f3f6; padding: .5rem .75rem; border-radius: 3px; overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
      pre code { padding: 0; }
      table { border-collapse: collapse; width: 100%; }
      th, td { text-align: left; padding: .25rem .75rem .25rem 0; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
      td code { display: inline-block; margin: 0 .25rem .15rem 0; }
      /* A phone: each channel a card of labelled lines, nothing cut off or scrolled sideways. */
      @media (max-width: 640px) {
        table.demo thead { display: none; }
        table.demo, table.demo tbody, table.demo tr, table.demo td { display: block; }
        table.demo tr { padding: .5rem 0; border-bottom: 1px solid #e3e6ea; }
        table.demo td { display: grid; grid-template-columns: 7.5rem 1fr; gap: .5rem; padding: .1rem 0; border: 0; }
        table.demo td::before { content: attr(data-label); color: #5b6472; }
      }
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
    ${demoSection}
  </body>
</html>
`;
}
