/**
 * The example dashboard at GET /dashboard: a channel's income and red packs as numbers, a chart
 * and tables, from one GraphQL query, or kept up to date by two subscriptions when "Live" is on.
 * Served by the gateway itself, like the playground: its own small scripts (public/dashboard/)
 * and Chart.js's prebuilt browser bundle from npm, no CDN.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { projectFile } from '../projectFiles.js';
import { pageSecurityHeaders, type PlaygroundOptions } from './playground.js';

const require = createRequire(import.meta.url);
// Chart.js exports no package.json; its entry points sit in dist/ next to the UMD bundle.
const chartJsDist = path.dirname(require.resolve('chart.js'));
const publicDir = fileURLToPath(projectFile('public/dashboard/'));

export const DASHBOARD_PATH = '/dashboard';

/** Every file the page loads, by the name it is served under. Nothing else is served. */
const ASSETS: Record<string, string> = {
  'chart.umd.min.js': path.join(chartJsDist, 'chart.umd.min.js'),
  'live.js': path.join(publicDir, 'live.js'),
  'export.js': path.join(publicDir, 'export.js'),
  'dashboard.js': path.join(publicDir, 'dashboard.js'),
  'dashboard.css': path.join(publicDir, 'dashboard.css'),
};

/** The playground's options: where GraphQL is, and the example channel and days. */
export type DashboardOptions = PlaygroundOptions;

export function dashboardRouter(options: DashboardOptions): Router {
  const router = express.Router();
  const page = renderPage(options);
  const securityHeaders = pageSecurityHeaders();

  router.get(DASHBOARD_PATH, securityHeaders, (_request, response) => {
    response.type('html').set('cache-control', 'no-store').send(page);
  });
  router.get(`${DASHBOARD_PATH}/:file`, securityHeaders, (request, response, next) => {
    const file = ASSETS[String(request.params.file)];
    if (!file) return next();
    response.set('cache-control', 'public, max-age=3600').sendFile(file);
  });
  return router;
}

function renderPage({ endpoint, exampleVariables }: DashboardOptions): string {
  // JSON in a non-executed script element: data for dashboard.js, allowed by the policy.
  const config = JSON.stringify({ endpoint, exampleVariables }).replace(/</g, '\\u003c');
  const asset = (name: string) => `${DASHBOARD_PATH}/${name}`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>polyv-graphql example dashboard</title>
    <link rel="stylesheet" href="${asset('dashboard.css')}" />
  </head>
  <body>
    <header>
      <h1>Channel dashboard</h1>
      <p>An example client of this gateway: one GraphQL query, read it in
        <a href="${asset('dashboard.js')}">dashboard.js</a>; try it in the
        <a href="${endpoint}">playground</a>. Live updates are two subscriptions over
        Server-Sent Events: <a href="${asset('live.js')}">live.js</a>.</p>
    </header>
    <form id="filters">
      <label>Channel <input name="channel" required pattern="\\d+" inputmode="numeric" size="10" /></label>
      <label>From <input name="from" type="date" required /></label>
      <label>To <input name="to" type="date" required /></label>
      <button type="submit">Show</button>
      <div id="presets" class="presets" role="group" aria-label="Ranges (China Standard Time)">
        <button type="button" data-preset="today">Today</button>
        <button type="button" data-preset="7d">7 days</button>
        <button type="button" data-preset="30d">30 days</button>
        <button type="button" data-preset="month">This month</button>
      </div>
      <span id="range-note" class="range-note" hidden>All time while live</span>
    </form>
    <div id="recent" class="recent" hidden>Recent channels: <span id="recent-list"></span></div>
    <div class="refresh">
      <button type="button" id="refresh">Refresh</button>
      <label><input type="checkbox" id="auto-refresh" checked /> Auto-refresh</label>
      <label class="live-switch"><input type="checkbox" id="live" role="switch" /> Live</label>
      <span id="status" role="status"></span> <span id="next-refresh"></span>
      <span><span id="live-status" class="live-status" role="status" data-testid="live-status"></span>
        <span id="live-updated" class="live-updated" data-testid="live-updated"></span></span>
    </div>
    <form id="api-key" hidden>
      <label>API key <input name="key" type="password" autocomplete="off" required /></label>
      <button type="submit">Use key</button>
      <small>Kept in this tab only (sessionStorage).</small>
    </form>
    <div id="errors" class="errors" role="alert" data-testid="errors" hidden></div>
    <p id="stale-note" class="stale-note" data-testid="stale-note" hidden>The numbers below, dimmed,
      are the last ones shown, not an answer to the form.</p>
    <main id="dashboard" hidden>
      <p id="live-note" class="live-note" hidden>Live: the red packs of channel <b id="live-channel"></b>
        since it began (all time; live totals have no date range), updated as they change.
        Income is not live: turn Live off to see it for a date range.</p>
      <section class="headline">
        <div data-range-only><span>Income</span><b data-testid="income-total"></b><small><span data-testid="income-count"></span> payments</small></div>
        <div><span>Red packs</span><b data-testid="redpack-count"></b><small>sent<span data-live-only hidden>, all time</span></small></div>
        <div><span>Red-pack money</span><b data-testid="redpack-total"></b><small>put in</small></div>
        <div><span>Received</span><b data-testid="redpack-received"></b><small>by <span data-testid="redpack-receivers"></span> viewers</small></div>
        <div data-live-only hidden><span>Unclaimed</span><b data-testid="redpack-balance"></b><small>left in red packs</small></div>
      </section>
      <section class="chart"><h2 id="chart-title">Income by day</h2><div><canvas id="income-chart" data-testid="income-chart"></canvas></div></section>
      <section data-range-only><h2>Income by pay type</h2><div class="table-scroll"><table id="paytypes"><thead><tr><th>Pay type</th><th>Count</th><th>Amount</th></tr></thead><tbody></tbody></table></div></section>
      <section id="redpacktypes-section"><h2>Red packs by type<span data-live-only hidden> (all time)</span></h2><div class="table-scroll"><table id="redpacktypes"><thead><tr><th>Type</th><th>Count</th><th>Amount</th></tr></thead><tbody></tbody></table></div></section>
      <section class="wide"><h2>Latest red packs<span data-live-only hidden> (live)</span></h2><div class="table-scroll"><table id="redpacks"><thead><tr><th>Time (CST)</th><th>Type</th><th>Sender</th><th>Amount</th><th>Receives</th></tr></thead><tbody></tbody></table></div></section>
      <section class="wide exports" data-range-only><h2>Download</h2>
        <p>Every record of the channel and days in the form, as CSV for a spreadsheet (<a href="${asset('export.js')}">export.js</a>).</p>
        <div class="export-buttons"><button type="button" data-export="red-packs">Download CSV: red packs</button>
          <button type="button" data-export="red-pack-receives">Download CSV: receives</button>
          <button type="button" data-export="income">Download CSV: income</button></div>
        <p id="export-status" class="export-status" role="status" data-testid="export-status"></p></section>
      <p class="as-of">Totals as of <span data-testid="as-of"></span></p>
    </main>
    <script id="dashboard-config" type="application/json">${config}</script>
    <script src="${asset('chart.umd.min.js')}"></script>
    <script src="${asset('live.js')}"></script>
    <script src="${asset('dashboard.js')}"></script>
    <script src="${asset('export.js')}"></script>
  </body>
</html>
`;
}

/** Fails at start-up, not in a browser, if a bundle is missing from node_modules. */
export function checkDashboardAssets(): void {
  const missing = Object.values(ASSETS).filter((file) => !existsSync(file));
  if (missing.length > 0) throw new Error(`dashboard files missing: ${missing.join(', ')}`);
}
