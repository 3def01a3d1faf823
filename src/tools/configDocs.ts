/**
 * docs/configuration.md, as text: every setting with its default, what it accepts and what it
 * means, all read from the declarations (src/config/settings.ts). `npm run docs` writes it
 * (through Prettier, which aligns the tables); test/config.test.ts fails when the page in the
 * repository is not what this returns.
 */
import { describeVariables, SECTIONS, type VariableDescription } from '../config/index.js';

const FILE_HEADING = 'The configuration file';

const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

const names = (variables: VariableDescription[]) =>
  variables.map(({ name }) => `\`${name}\``).join(', ');

/** The meaning, and what the declaration says of where the setting may be set. */
function meaning(variable: VariableDescription): string {
  const notes = [variable.meaning];
  if (variable.secret) notes.push('A secret: in the file only as `${env.NAME}`.');
  if (variable.environmentOnly) notes.push(`Environment only: ${variable.environmentOnly}.`);
  return notes.join(' ');
}

function table(variables: VariableDescription[]) {
  return [
    '| Variable | Default | Accepts | Meaning |',
    '| --- | --- | --- | --- |',
    ...variables.map(
      (variable) =>
        `| \`${variable.name}\` | ${variable.default} | ${variable.accepts} | ${meaning(variable)} |`,
    ),
  ].join('\n');
}

/** A configuration file as an operator might write one; test/config.test.ts loads it. */
const EXAMPLE = `# gateway.config.yaml: the tunables, reviewed and versioned; secrets stay in the environment
POLYV_APP_ID: '1599345'
POLYV_USER_ID: '1b4f6fbc3e'
POLYV_APP_SECRET: \${env.POLYV_SECRET}
GATEWAY_API_KEYS_FILE: /run/keys/keys.json
REDIS_URL: redis://:\${env.REDIS_PASSWORD}@redis:6379
GATEWAY_REPLICAS: 2

# Dashboards refresh every 10 s: red packs may be 10 s old, income a minute.
POLYV_CACHE_TTL_S:
  redPackStatistics: 10
GATEWAY_CORS_ORIGINS:
  - https://dashboard.example.com
GATEWAY_MAX_COST: 100000
GATEWAY_LIVE_POLL_MS: 5000
GATEWAY_LIVE_LEASE_MS: 15000
GATEWAY_COMPILED_EXECUTION: on`;

/** The whole page, before Prettier aligns its tables. */
export function configurationMarkdown(): string {
  const variables = describeVariables();
  const sections = SECTIONS.map((section) => ({
    section,
    variables: variables.filter((variable) => variable.section === section),
  })).filter(({ variables }) => variables.length > 0);
  const secrets = variables.filter((variable) => variable.secret);
  const environmentOnly = variables.filter((variable) => variable.environmentOnly);
  const deprecated = variables.filter((variable) => variable.deprecated);
  return `# Configuration

<!-- Generated from src/config/settings.ts by \`npm run docs\`: edit the declarations there, not here. -->

Settings are environment variables, and (all but a few) keys of an optional
[configuration file](#the-configuration-file) of the same names. They are validated once at
start-up: a bad value stops the gateway with a message naming the setting and what it expects
(\`PORT: must be an integer from 0 to 65535; got "abc"\`), and every bad setting is named at once.
An empty variable counts as not set.

With neither \`POLYV_APP_ID\` nor \`POLYV_APP_SECRET\` set, \`npm start\` starts the built-in Polyv
emulator on a free loopback port inside the same process and points the gateway at it with the
emulator's demo credentials. With only one of the two set, it refuses to start.

${[...sections.map(({ section }) => section), FILE_HEADING].map((heading) => `- [${heading}](#${anchor(heading)})`).join('\n')}

${sections.map(({ section, variables }) => `## ${section}\n\n${table(variables)}\n`).join('\n')}
The OpenTelemetry exporter and SDK read more \`OTEL_*\` variables themselves, from the
environment only, and the gateway neither reads nor checks them: \`OTEL_EXPORTER_OTLP_HEADERS\`,
\`OTEL_EXPORTER_OTLP_TIMEOUT\`, \`OTEL_EXPORTER_OTLP_COMPRESSION\` (and their \`_TRACES_\` forms),
\`OTEL_TRACES_SAMPLER\` and \`OTEL_TRACES_SAMPLER_ARG\`, \`OTEL_BSP_*\` (the batch of spans sent
at once) and the span limits (\`OTEL_SPAN_*\`, \`OTEL_ATTRIBUTE_*\`). \`OTEL_SERVICE_NAME\` and
\`OTEL_RESOURCE_ATTRIBUTES\` are not applied: the tracer provider is registered without resource
detection (src/observability/tracing.ts), so spans carry \`service.name\` \`unknown_service:node\`.

## ${FILE_HEADING}

\`GATEWAY_CONFIG_FILE\` names a YAML file (JSON is YAML too) whose keys are the variables above
and whose values are read by the same declarations, with the same checks and messages (naming the
file: \`PORT (in gateway.config.yaml): must be an integer from 0 to 65535; got "abc"\`). Numbers
may be written as numbers, \`on\`/\`off\` also as \`true\`/\`false\`, origins and proxies as
lists, and \`POLYV_CACHE_TTL_S\` as a map:

\`\`\`yaml
${EXAMPLE}
\`\`\`

- **The environment wins.** A variable that is set (and not empty) overrides the file's value of
  the same name; the file's value is still checked. In the image, \`NODE_ENV\`, \`PORT\` and
  \`HOST\` are variables of the image itself, so they win over the file.
- **\`\${env.NAME}\`** in any text of the file is replaced by that variable of the environment, as
  in Apollo Router's \`router.yaml\`; an unset or empty one stops the gateway, naming it. Nothing
  else is replaced, and a \`\${…}\` of another form is refused.
- **Secrets** (${names(secrets)}) may be in the file only as \`\${env.NAME}\`, so the file can be
  reviewed, versioned and mounted from a ConfigMap while secrets come from the secret store.
- **Environment only**: ${names(environmentOnly)}, each for the reason its row gives; the file
  may not set them.
- A key that is no setting is refused, never ignored: a typo must not silently leave a limit at
  its default.
- The file is read once, at start-up: restart the gateway to apply a change.
- **Deprecated**: ${deprecated.map((variable) => `\`${variable.name}\` (use \`${variable.deprecated}\`)`).join(', ')}. Still read, with a warning at start-up, while their replacement is not set;
  with it set too, the gateway refuses to start rather than guess which one is meant.

### Why a file, and why the environment still

A gateway's tunables are policy: some sixty limits, budgets and cache lifetimes that are reviewed
together, versioned, and shipped to every replica as one piece, with a comment saying why a limit
is what it is. Operators of gateways keep them in a file (Apollo Router's \`router.yaml\`, Hive
Gateway's \`gateway.config.ts\`, nginx and Envoy), and a map such as the cache lifetime of each
endpoint reads better there than in a variable. What differs from one deployment to the next
(ports, Redis, the number of replicas) and secrets belong in the environment, where orchestrators
and secret stores put them. So both: every setting is still a variable, because every existing
deployment, the image, \`deploy/\`, the tests and these pages set variables, and they keep working
unchanged; and the environment wins, as twelve-factor tools do, so one deployment can change one
value of a shared file without editing it. The keys of the file are the variables' own names: one
name for a setting wherever it is set, logged or documented, and moving a value from the
environment to the file is a copy.
`;
}
