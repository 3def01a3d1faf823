/**
 * The GraphiQL playground, served by the gateway itself from npm packages (GraphiQL's and
 * React's prebuilt browser bundles): no CDN, so it works behind firewalls and offline.
 * A browser asking GET /graphql for HTML gets the page; everything else goes on to Apollo.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Request, type Router } from 'express';
import helmet from 'helmet';
import { projectFile } from '../projectFiles.js';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));
const publicDir = fileURLToPath(projectFile('public/playground/'));

/** Every file the page loads, by the name it is served under. Nothing else is served. */
const ASSETS: Record<string, string> = {
  'graphiql.min.js': path.join(packageDir('graphiql'), 'graphiql.min.js'),
  'graphiql.min.css': path.join(packageDir('graphiql'), 'graphiql.min.css'),
  'react.production.min.js': path.join(packageDir('react'), 'umd/react.production.min.js'),
  'react-dom.production.min.js': path.join(
    packageDir('react-dom'),
    'umd/react-dom.production.min.js',
  ),
  'playground.js': path.join(publicDir, 'playground.js'),
  'playground.css': path.join(publicDir, 'playground.css'),
};

export const PLAYGROUND_ASSET_PATH = '/playground';

export interface PlaygroundOptions {
  /** Where GraphQL is served, e.g. /graphql. */
  endpoint: string;
  /** Variables of the example query: a channel and a day range worth looking at. */
  exampleVariables: { channel: string; from: string; to: string };
  /** On the built-in emulator: its demo channels and sessions, named in the example's comment. */
  demoChannels?: readonly { channelId: string; name: string; sessionIds: readonly string[] }[];
  /** API keys are on: the page says where the key goes. */
  apiKeys?: boolean;
}

/**
 * True for a browser navigating to the endpoint: it prefers HTML to JSON. A link with
 * `?query=…&variables=…` opens the playground with them filled in (shareable links, as GraphiQL
 * users expect); clients asking for JSON (fetch, curl, GraphQL clients) get the GraphQL answer.
 */
const wantsPage = (request: Request) =>
  request.method === 'GET' &&
  request.accepts(['application/json', 'application/graphql-response+json', 'text/html']) ===
    'text/html';

/**
 * The pages' policy (the playground's and the example dashboard's): scripts, styles and
 * connections only to this server; GraphiQL needs inline styles.
 */
export function pageSecurityHeaders() {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
  });
}

export function playgroundRouter(options: PlaygroundOptions): Router {
  const router = express.Router();
  const page = renderPage(options);

  const securityHeaders = pageSecurityHeaders();

  // Browsers ask for it on every page; answering keeps the console clean.
  router.get('/favicon.ico', (_request, response) => {
    response.status(204).end();
  });
  router.get(options.endpoint, (request, response, next) => {
    if (!wantsPage(request)) return next();
    securityHeaders(request, response, () => {
      response.type('html').set('cache-control', 'no-store').send(page);
    });
  });
  router.get(`${PLAYGROUND_ASSET_PATH}/:file`, securityHeaders, (request, response, next) => {
    const file = ASSETS[String(request.params.file)];
    if (!file) return next();
    response.set('cache-control', 'public, max-age=3600').sendFile(file);
  });
  return router;
}

function renderPage({
  endpoint,
  exampleVariables,
  demoChannels,
  apiKeys = false,
}: PlaygroundOptions): string {
  // JSON in a non-executed script element: data for playground.js, allowed by the policy.
  const demo = demoChannels?.map(({ channelId, name, sessionIds }) => ({
    channelId,
    name,
    sessionIds,
  }));
  const config = JSON.stringify({ endpoint, exampleVariables, demo, apiKeys }).replace(
    /</g,
    '\\u003c',
  );
  // Without a key even the schema cannot load: GraphiQL alone would say only "Error fetching schema".
  const keysHint = apiKeys
    ? `<p id="keys-hint" class="keys-hint" role="note">API keys are on: put yours in the <b>Headers</b> tab
      below the query as <code>{"Authorization": "Bearer &lt;key&gt;"}</code>, then re-fetch the
      schema (⟳ in the left bar) and run the query.</p>
    `
    : '';
  const asset = (name: string) => `${PLAYGROUND_ASSET_PATH}/${name}`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>polyv-graphql playground</title>
    <link rel="stylesheet" href="${asset('graphiql.min.css')}" />
    <link rel="stylesheet" href="${asset('playground.css')}" />
  </head>
  <body>
    ${keysHint}<div id="graphiql">Loading the playground…</div>
    <script id="playground-config" type="application/json">${config}</script>
    <script src="${asset('react.production.min.js')}"></script>
    <script src="${asset('react-dom.production.min.js')}"></script>
    <script src="${asset('graphiql.min.js')}"></script>
    <script src="${asset('playground.js')}"></script>
  </body>
</html>
`;
}

/** Fails at start-up, not in a browser, if a bundle is missing from node_modules. */
export function checkPlaygroundAssets(): void {
  const missing = Object.values(ASSETS).filter((file) => !existsSync(file));
  if (missing.length > 0) throw new Error(`playground files missing: ${missing.join(', ')}`);
}
