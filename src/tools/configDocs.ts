/**
 * docs/configuration.md, as text: every variable of the configuration schema with its default,
 * what it accepts and what it means, all read from src/config/index.ts. `npm run docs:config`
 * writes it (through Prettier, which aligns the tables); test/config.test.ts fails when the page
 * in the repository is not what this returns.
 */
import {
  describeVariables,
  type ConfigSection,
  type VariableDescription,
} from '../config/index.js';

/** Variables read outside the configuration module, and why there. */
const READ_ELSEWHERE = [
  {
    name: '`LOG_LEVEL`',
    default: '`info`',
    accepts: 'a pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`',
    meaning:
      'Log level. Read by the logger (src/logger.ts) before the configuration, so that a bad configuration can be logged.',
  },
  {
    name: '`OTEL_*`',
    default: 'no traces exported',
    accepts: 'as the OpenTelemetry SDK reads them',
    meaning:
      '`OTEL_TRACES_EXPORTER=otlp` or `OTEL_EXPORTER_OTLP_ENDPOINT` switch on exporting traces (src/observability/tracing.ts): see [Operations → Traces](operations.md#traces).',
  },
];

const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');

function table(rows: { name: string; default: string; accepts: string; meaning: string }[]) {
  return [
    '| Variable | Default | Accepts | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.name} | ${row.default} | ${row.accepts} | ${row.meaning} |`),
  ].join('\n');
}

/** The whole page, before Prettier aligns its tables. */
export function configurationMarkdown(): string {
  const sections = new Map<ConfigSection, VariableDescription[]>();
  for (const variable of describeVariables())
    sections.set(variable.section, [...(sections.get(variable.section) ?? []), variable]);
  const headings = [...sections.keys(), 'Read elsewhere'];
  return `# Configuration

<!-- Generated from src/config/index.ts by \`npm run docs:config\`: edit the descriptions there, not here. -->

Environment variables, validated once at start-up: a bad value stops the gateway with a message
naming the variable and what it expects (\`PORT: must be an integer from 0 to 65535; got "abc"\`),
and every bad variable is named at once. An empty variable counts as not set.

With neither \`POLYV_APP_ID\` nor \`POLYV_APP_SECRET\` set, \`npm start\` starts the built-in Polyv
emulator on a free loopback port inside the same process and points the gateway at it with the
emulator's demo credentials. With only one of the two set, it refuses to start.

${headings.map((heading) => `- [${heading}](#${anchor(heading)})`).join('\n')}

${[...sections]
  .map(
    ([section, variables]) =>
      `## ${section}\n\n${table(variables.map((variable) => ({ ...variable, name: `\`${variable.name}\`` })))}\n`,
  )
  .join('\n')}
## Read elsewhere

${table(READ_ELSEWHERE)}
`;
}
