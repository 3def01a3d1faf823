/**
 * The docs are true: every query, command and snippet of README.md and docs/*.md is run here
 * against a gateway on the built-in emulator (or, where it cannot run on this machine, checked as
 * far as it can be), and the answer a page shows is the answer it gets. What a page writes:
 *
 * - ```graphql: run. A ```json variables block after it holds its variables; a ```json answer
 *   block after that is its answer, compared as JSON (README's byte for byte, as
 *   `JSON.stringify(answer, null, 2)` writes it). A query with no answer must validate against
 *   the served schema.
 * - ```console: each `$ ` line is a command and the lines after it, up to the next one, its
 *   output, compared exactly. ```sh / ```bash: commands without output, which must succeed.
 *   Known commands are curl (http://localhost:4000 is the test gateway; `$EMULATOR`, the address
 *   of an emulator's control API, is an emulator of the test's own, so that what the examples
 *   insert, inject or start changes no other page's answers), the cheap npm scripts of NPM_RUNS,
 *   and self-contained shell (`node -e`, `echo`, `printf`, `VAR=$(node -e …)`, `VAR=$(curl …)`),
 *   piped into FILTERS; anything else fails the test, so a new page cannot slip in unchecked.
 * - ```js: run by node; a ```json answer block after it is what it prints.
 * - ```ts: type-checked against the installed packages; the blocks marked `codegen` (each opening
 *   with a `// path` comment) are a GraphQL Code Generator project, generated against the gateway.
 * - ```yaml must parse; one whose first comment names a file of deploy/ must agree with it.
 * - `<!-- docs-test: with API keys -->` before a block: it runs against a gateway with API keys
 *   on, and `$POLYV_GRAPHQL_KEY` holds a valid key.
 * - `<!-- docs-test: not run: why -->` before a block: not run; the npm scripts it names must
 *   exist, the files it names must exist or be ignored by git (made by a step), and the GraphQL
 *   in it must validate.
 * Relative links must lead to a file and, with a `#`, to one of its headings.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
  parse,
  validate,
  type GraphQLSchema,
  type IntrospectionQuery,
} from 'graphql';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import prettier from 'prettier';
import { CONTROL_ACTIONS, startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { withApolloClientSnippet } from '../src/tools/clientDocs.js';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { cleanEnv } from './support/process.js';
import { startStack, type Stack } from './support/stack.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SCRATCH = path.join(ROOT, 'test-output', 'docs');
const PAGES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .sort()
    .map((file) => `docs/${file}`),
];
/** Where the pages say the gateway is; the test's gateways are elsewhere. */
const DOCUMENTED_URL = 'http://localhost:4000';
/** npm scripts cheap enough to run here, exactly as written. */
const NPM_RUNS = ['npm run --silent sdl', 'npm run --silent emulator -- --help'];
/** Programs a command may pipe into. */
const FILTERS = /^(head|tail|cut|tr|sha256sum|grep|sort|wc)\b/;
const MARKERS = /^(with API keys|codegen|not run: .+)$/;

interface Block {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The rest of the info string: `answer`, `variables`. */
  meta: string;
  text: string;
  marker: string | undefined;
}

/** The fenced blocks of a page, each with the docs-test marker just before it, if any. */
function blocksOf(page: string, problems: string[]): Block[] {
  const lines = readFileSync(path.join(ROOT, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  let marker: { text: string; line: number } | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const comment = /^\s*<!-- docs-test: (.*?) -->\s*$/.exec(line);
    if (comment) {
      if (!MARKERS.test(comment[1]!))
        problems.push(`${page}:${index + 1}: unknown marker "${comment[1]}"`);
      marker = { text: comment[1]!, line: index + 1 };
      continue;
    }
    const fence = /^(\s*)```(\S*)\s*(.*)$/.exec(line);
    if (fence) {
      const indent = fence[1]!.length;
      const body: string[] = [];
      let end = index + 1;
      while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!))
        body.push(lines[end++]!.slice(indent));
      blocks.push({
        page,
        line: index + 1,
        lang: fence[2]!,
        meta: fence[3]!,
        text: body.length > 0 ? `${body.join('\n')}\n` : '',
        marker: marker?.text,
      });
      marker = undefined;
      index = end;
      continue;
    }
    if (line.trim() !== '' && marker) {
      problems.push(`${page}:${marker.line}: a marker must come right before a block`);
      marker = undefined;
    }
  }
  return blocks;
}

type Case =
  | { kind: 'query'; block: Block; variables?: Block; answer?: Block }
  | { kind: 'js'; block: Block; answer?: Block }
  | { kind: 'commands' | 'static' | 'ts' | 'codegen' | 'yaml' | 'json'; block: Block };

/** Every block as what the test does with it; problems for blocks that follow no convention. */
function casesOf(blocks: Block[], problems: string[]): Case[] {
  const cases: Case[] = [];
  const where = (block: Block) => `${block.page}:${block.line}`;
  for (let index = 0; index < blocks.length; index++) {
    const block = blocks[index]!;
    const next = (meta: string) => {
      const candidate = blocks[index + 1];
      if (candidate?.lang !== 'json' || candidate.meta !== meta || candidate.page !== block.page)
        return undefined;
      index++;
      return candidate;
    };
    const notRun = block.marker?.startsWith('not run: ');
    switch (block.lang) {
      case 'graphql':
        if (notRun) cases.push({ kind: 'static', block });
        else {
          const variables = next('variables');
          cases.push({ kind: 'query', block, variables, answer: next('answer') });
        }
        break;
      case 'console':
      case 'sh':
      case 'bash':
        cases.push({ kind: notRun ? 'static' : 'commands', block });
        break;
      case 'js':
        cases.push(
          notRun ? { kind: 'static', block } : { kind: 'js', block, answer: next('answer') },
        );
        break;
      case 'ts':
        cases.push({
          kind: notRun ? 'static' : block.marker === 'codegen' ? 'codegen' : 'ts',
          block,
        });
        break;
      case 'yaml':
        cases.push({ kind: 'yaml', block });
        break;
      case 'json':
        if (block.meta === '') cases.push({ kind: 'json', block });
        else problems.push(`${where(block)}: a \`json ${block.meta}\` block must follow a query`);
        break;
      case '':
        if (/^\s*(\$ |npm |curl |node )/m.test(block.text))
          problems.push(`${where(block)}: a command in a block without a language`);
        break;
      default:
        problems.push(
          `${where(block)}: blocks of \`${block.lang}\` are not checked: add them here`,
        );
    }
  }
  return cases;
}

const problems: string[] = [];
const blocks = PAGES.flatMap((page) => blocksOf(page, problems));
const cases = casesOf(blocks, problems);
const named = (kind: Case['kind']) =>
  cases
    .filter((entry) => entry.kind === kind)
    .map((entry) => [`${entry.block.page}:${entry.block.line}`, entry] as const);

let open: Stack;
let keyed: Stack;
/** The emulator `$EMULATOR` points at: the control API examples' own. */
let controlled: PolyvEmulator;
let schema: GraphQLSchema;
beforeAll(async () => {
  controlled = await startEmulator({ port: 0 });
  // As `npm start` serves without credentials: the emulator in process, API keys off.
  open = await startStack({ builtInEmulator: true });
  keyed = await startStack({
    sharedEmulator: open.emulator,
    env: { GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: writeKeysFile() },
  });
  const introspection = await open.graphql<IntrospectionQuery>(getIntrospectionQuery());
  schema = buildClientSchema(introspection.data!);
  rmSync(SCRATCH, { recursive: true, force: true });
  mkdirSync(SCRATCH, { recursive: true });
}, 60_000);
afterAll(async () => {
  await keyed?.close();
  await open?.close();
  await controlled?.close();
});

const gatewayFor = (block: Block) => (block.marker === 'with API keys' ? keyed : open);
/** The documented address (http:// and, for WebSockets, ws://) → the test gateway's. */
const substitute = (text: string, block: Block) => {
  const url = gatewayFor(block).gateway.url;
  return text
    .replaceAll(DOCUMENTED_URL, url)
    .replaceAll(DOCUMENTED_URL.replace(/^http/, 'ws'), url.replace(/^http/, 'ws'));
};
const unsubstitute = (text: string, block: Block) =>
  text.replaceAll(gatewayFor(block).gateway.url, DOCUMENTED_URL);

/** Runs a program without blocking the event loop: the gateways answer from this process. */
async function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, {
      cwd: options.cwd ?? ROOT,
      env: cleanEnv({
        POLYV_GRAPHQL_KEY: KEYS.finance,
        EMULATOR: controlled.controlUrl,
        ...options.env,
      }),
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? String(error),
    };
  }
}

/** Joins lines continued with a trailing backslash. */
function logicalLines(text: string): string[] {
  return text.replace(/\\\n\s*/g, ' ').split('\n');
}

/** Why the test cannot run a command, or undefined when it can. */
function unrunnable(command: string): string | undefined {
  const [first, ...piped] = command.split('|').map((part) => part.trim());
  const curl = /^(?:[A-Z_]+=\$\()?curl\s/.test(first!);
  const known =
    (curl && (first!.includes(DOCUMENTED_URL) || /\$\{?EMULATOR\b/.test(first!))) ||
    NPM_RUNS.includes(first!) ||
    /^(node -e |echo |printf |[A-Z_]+=\$\(node -e )/.test(first!);
  if (!known)
    return `does not know how to run \`${first}\`: teach test/docs.test.ts, or mark the block <!-- docs-test: not run: why -->`;
  const filter = piped.find((part) => !FILTERS.test(part));
  return filter === undefined ? undefined : `does not know the filter \`${filter}\``;
}

/** The npm scripts a text runs. */
function npmScripts(text: string): string[] {
  return [...text.matchAll(/\bnpm (?:run(?: --silent)? ([\w:-]+)|(start|test)\b)/g)].map(
    (match) => (match[1] ?? match[2])!,
  );
}

/** The repository paths a text names. */
function repositoryPaths(text: string): string[] {
  return [
    ...text.matchAll(
      /(?<![\w./$-])((?:deploy|docs|src|test|scripts|bench|public|dist)\/[\w./-]*[\w])/g,
    ),
  ].map((match) => match[1]!);
}

const ignoredByGit = (file: string) => {
  try {
    execFileSync('git', ['check-ignore', '-q', file], { cwd: ROOT });
    return true;
  } catch {
    return false;
  }
};

/** GraphQL in the string literals of a JS or TS snippet (queries start with a keyword or `{`). */
function graphqlInSnippet(source: string): string[] {
  const file = ts.createSourceFile('snippet.ts', source, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
      const text = node.text.trim();
      if (/^(query|mutation|subscription|fragment)\b|^\{/.test(text)) found.push(text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

const validationErrors = (document: string) =>
  validate(schema, parse(document)).map((error) => error.message);

const PAGINATION_ARGUMENTS = ['first', 'after', 'last', 'before'];

/**
 * Apollo Client's `typePolicies` in a snippet, against the schema: every type and field exists,
 * key fields are fields of their type, and every connection field of the schema pages with
 * `relayStylePagination` keyed by exactly the arguments that choose the list.
 */
function typePolicyProblems(source: string): string[] {
  const file = ts.createSourceFile('snippet.ts', source, ts.ScriptTarget.ES2022, true);
  let policies: ts.ObjectLiteralExpression | undefined;
  const find = (node: ts.Node) => {
    if (
      ts.isPropertyAssignment(node) &&
      node.name.getText(file) === 'typePolicies' &&
      ts.isObjectLiteralExpression(node.initializer)
    )
      policies = node.initializer;
    ts.forEachChild(node, find);
  };
  find(file);
  if (!policies) return ['no typePolicies'];
  const found: string[] = [];
  const strings = (node: ts.Node | undefined) =>
    node && ts.isArrayLiteralExpression(node)
      ? node.elements.filter(ts.isStringLiteral).map((element) => element.text)
      : undefined;
  const paged = new Set<string>();
  for (const typePolicy of policies.properties) {
    if (
      !ts.isPropertyAssignment(typePolicy) ||
      !ts.isObjectLiteralExpression(typePolicy.initializer)
    )
      continue;
    const typeName = typePolicy.name.getText(file);
    const type = schema.getType(typeName);
    if (!isObjectType(type)) {
      found.push(`${typeName} is not an object type of the schema`);
      continue;
    }
    const fields = type.getFields();
    for (const option of typePolicy.initializer.properties) {
      if (!ts.isPropertyAssignment(option)) continue;
      const name = option.name.getText(file);
      if (name === 'keyFields') {
        for (const key of strings(option.initializer) ?? [])
          if (!fields[key]) found.push(`${typeName}.${key}, a key field, is not a field`);
      } else if (name === 'fields' && ts.isObjectLiteralExpression(option.initializer)) {
        for (const fieldPolicy of option.initializer.properties) {
          if (!ts.isPropertyAssignment(fieldPolicy)) continue;
          const fieldName = fieldPolicy.name.getText(file);
          const field = fields[fieldName];
          if (!field) {
            found.push(`${typeName}.${fieldName} is not a field`);
            continue;
          }
          const call = fieldPolicy.initializer;
          if (
            !ts.isCallExpression(call) ||
            call.expression.getText(file) !== 'relayStylePagination'
          )
            continue;
          paged.add(`${typeName}.${fieldName}`);
          const keyArgs = strings(call.arguments[0]) ?? [];
          const choosing = field.args
            .map((argument) => argument.name)
            .filter((argument) => !PAGINATION_ARGUMENTS.includes(argument));
          if ([...keyArgs].sort().join() !== [...choosing].sort().join())
            found.push(
              `${typeName}.${fieldName}: keyArgs ${JSON.stringify(keyArgs)}, the list is chosen by ${JSON.stringify(choosing)}`,
            );
        }
      }
    }
  }
  for (const type of Object.values(schema.getTypeMap()))
    if (isObjectType(type) && !type.name.startsWith('__'))
      for (const field of Object.values(type.getFields()))
        if (
          getNamedType(field.type).name.endsWith('Connection') &&
          !paged.has(`${type.name}.${field.name}`)
        )
          found.push(`${type.name}.${field.name} is a connection without relayStylePagination`);
  return found;
}

/** GitHub's anchor for a heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

describe('the pages', () => {
  it('mark every block as one the test knows', () => {
    expect(problems).toEqual([]);
    expect(named('query').length).toBeGreaterThan(5);
    expect(named('commands').length).toBeGreaterThan(3);
  });

  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      const text = readFileSync(path.join(ROOT, page), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [file, anchor] = target!.split('#') as [string, string | undefined];
        const linked = file === '' ? page : path.join(path.dirname(page), file);
        if (!existsSync(path.join(ROOT, linked))) {
          broken.push(`${page}: ${target}`);
          continue;
        }
        if (anchor === undefined) continue;
        const headings = [
          ...readFileSync(path.join(ROOT, linked), 'utf8').matchAll(/^#+ (.*)$/gm),
        ].map((match) => slug(match[1]!.replaceAll('`', '')));
        if (!headings.includes(anchor)) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("show every action of the emulator's control API with a curl command that runs", () => {
    // `METHOD path` of every curl to ${EMULATOR}… in a block the test runs.
    const shown = new Set<string>();
    for (const entry of cases) {
      if (entry.kind !== 'commands' || entry.block.page !== 'docs/operations.md') continue;
      for (const line of logicalLines(entry.block.text)) {
        const command = line.replace(/^\$ /, '');
        const path = /curl\s.*\$\{EMULATOR\}([\w-]+)/.exec(command)?.[1];
        if (path === undefined) continue;
        const method =
          /\s-X\s+(\w+)/.exec(command)?.[1] ?? (/\s-d\s/.test(command) ? 'POST' : 'GET');
        shown.add(`${method} ${path}`);
      }
    }
    expect(CONTROL_ACTIONS.length).toBeGreaterThanOrEqual(10);
    expect(CONTROL_ACTIONS.filter((action) => !shown.has(action))).toEqual([]);
    expect([...shown].filter((action) => !(CONTROL_ACTIONS as string[]).includes(action))).toEqual(
      [],
    );
  });

  it('name only metrics the gateway registers', () => {
    const registered = readFileSync(path.join(ROOT, 'src/observability/metrics.ts'), 'utf8');
    const mentioned = new Set(
      PAGES.flatMap((page) => [
        ...readFileSync(path.join(ROOT, page), 'utf8').matchAll(/\bgateway_[a-z_]+/g),
      ]).map((match) => match[0].replace(/_(count|bucket|sum)$/, '')),
    );
    expect(mentioned.size).toBeGreaterThan(10);
    expect([...mentioned].filter((metric) => !registered.includes(`'${metric}'`))).toEqual([]);
  });
});

describe('queries', () => {
  it.each(named('query'))('%s answers as shown', async (_where, entry) => {
    if (entry.kind !== 'query') return;
    const { block, variables, answer } = entry;
    expect(validationErrors(block.text)).toEqual([]);
    if (!answer) return;
    const response = await fetch(`${open.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: block.text,
        variables: variables ? (JSON.parse(variables.text) as unknown) : undefined,
      }),
    });
    const body = (await response.json()) as unknown;
    if (block.page === 'README.md') expect(answer.text).toBe(`${JSON.stringify(body, null, 2)}\n`);
    else expect(body).toEqual(JSON.parse(answer.text));
  });
});

describe('commands', () => {
  it.each(named('commands'))(
    '%s run as shown',
    async (_where, { block }) => {
      if (block.lang === 'console') {
        // Continued lines join a command, never its output (which may end in a backslash).
        const steps: { command: string; output: string[] }[] = [];
        const lines = block.text.trimEnd().split('\n');
        for (let index = 0; index < lines.length; index++) {
          const line = lines[index]!;
          if (line.startsWith('$ ')) {
            let command = line.slice(2);
            while (command.endsWith('\\') && index + 1 < lines.length)
              command = `${command.slice(0, -1)} ${lines[++index]!.trim()}`;
            steps.push({ command, output: [] });
          } else if (steps.length > 0) steps.at(-1)!.output.push(line);
          else throw new Error(`${block.page}:${block.line}: output before any \`$ \` command`);
        }
        for (const { command, output } of steps) {
          expect([command, unrunnable(command)]).toEqual([command, undefined]);
          const result = await run('bash', ['-c', substitute(command, block)]);
          expect([command, result.code, unsubstitute(result.stdout, block).trimEnd()]).toEqual([
            command,
            0,
            output.join('\n').trimEnd(),
          ]);
        }
      } else {
        const commands = logicalLines(block.text).filter(
          (line) => line.trim() !== '' && !line.trim().startsWith('#'),
        );
        for (const command of commands)
          expect([command, unrunnable(command)]).toEqual([command, undefined]);
        const result = await run('bash', ['-e', '-c', substitute(block.text, block)], {
          cwd: SCRATCH,
        });
        expect([result.code, result.stderr]).toEqual([0, '']);
        expect(result.stdout).not.toMatch(/"errors"/);
      }
    },
    180_000,
  );
});

describe('JavaScript', () => {
  it.each(named('js'))(
    '%s runs and prints what is shown',
    async (_where, entry) => {
      if (entry.kind !== 'js') return;
      const { block, answer } = entry;
      const result = await run(process.execPath, [
        '--input-type=module',
        '-e',
        substitute(block.text, block),
      ]);
      expect([result.code, result.stderr]).toEqual([0, '']);
      if (answer) expect(JSON.parse(result.stdout)).toEqual(JSON.parse(answer.text));
    },
    60_000,
  );
});

describe('TypeScript', () => {
  it('type-checks against the installed packages', () => {
    const snippets = named('ts').map(([where, { block }]) => {
      const file = path.join(SCRATCH, `${where.replace(/[/:.]/g, '-')}.mts`);
      writeFileSync(file, block.text);
      return file;
    });
    expect(snippets.length).toBeGreaterThan(0);
    const program = ts.createProgram(snippets, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: ['node'],
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  }, 120_000);

  it('generates types from the codegen project, Decimal and DateTime as strings', async () => {
    const project = path.join(SCRATCH, 'codegen');
    mkdirSync(project, { recursive: true });
    const files = named('codegen').map(([, { block }]) => {
      const name = /^\/\/ (\S+)\n/.exec(block.text)?.[1];
      if (!name) throw new Error(`${block.page}:${block.line}: a codegen block opens with // path`);
      return { name, block };
    });
    expect(files.map((file) => file.name)).toContain('codegen.ts');
    for (const { name, block } of files) {
      const target = path.join(project, name);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, block.text);
      if (name === 'codegen.ts')
        writeFileSync(
          path.join(project, 'codegen.mjs'),
          ts.transpileModule(substitute(block.text, block), {
            compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
          }).outputText,
        );
    }
    const result = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import config from './codegen.mjs'; import { generate } from '@graphql-codegen/cli';" +
          'const files = await generate({ ...config, silent: true }, false);' +
          'process.stdout.write(JSON.stringify(files));',
      ],
      { cwd: project },
    );
    expect([result.code, result.stderr]).toEqual([0, '']);
    const generated = JSON.parse(result.stdout) as { filename: string; content: string }[];
    const types = generated.find((file) => file.filename.endsWith('graphql.ts'))!.content;
    const query = /^export type LatestRedPacksQuery = .*$/m.exec(types)?.[0];
    expect(query).toMatch(/amount: string/);
    expect(query).toMatch(/fen: number/);
    expect(query).toMatch(/createdAt: string/);
    expect(query).not.toMatch(/unknown/);

    // The scalars the page says strictScalars would ask for besides the three are the rest.
    const page = readFileSync(path.join(ROOT, 'docs/clients.md'), 'utf8');
    const paragraph = page.slice(page.indexOf('`strictScalars: true`')).split('\n\n')[0]!;
    const listed = [...paragraph.matchAll(/`(_Any|link__\w+|federation__\w+)`/g)].map(
      (match) => match[1]!,
    );
    const others = Object.values(schema.getTypeMap())
      .filter((type) => isScalarType(type) && !isSpecifiedScalarType(type))
      .map((type) => type.name)
      .filter((name) => !['Decimal', 'DateTime', 'Date'].includes(name));
    expect(listed.length).toBeGreaterThan(0);
    expect(others.sort()).toEqual(listed.sort());
  }, 180_000);
});

describe('YAML and JSON', () => {
  it.each([...named('yaml'), ...named('json')])('%s parses', (_where, { block }) => {
    if (block.lang === 'json') {
      expect(() => JSON.parse(block.text) as unknown).not.toThrow();
      return;
    }
    const parsed = parseYaml(block.text) as unknown;
    const file = /^# ([\w.-]+\.ya?ml)\b/.exec(block.text)?.[1];
    if (file && existsSync(path.join(ROOT, 'deploy', file)))
      expect(parseYaml(readFileSync(path.join(ROOT, 'deploy', file), 'utf8'))).toMatchObject(
        parsed as Record<string, unknown>,
      );
  });
});

describe('blocks not run here', () => {
  const scripts = (
    JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts;

  it.each(named('static'))('%s names what exists', (_where, { block }) => {
    for (const script of npmScripts(block.text)) expect(Object.keys(scripts)).toContain(script);
    for (const file of repositoryPaths(block.text)) {
      expect([file, existsSync(path.join(ROOT, file)) || ignoredByGit(file)]).toEqual([file, true]);
      if (/\.ya?ml$/.test(file) && existsSync(path.join(ROOT, file)))
        expect(
          () => parseYaml(readFileSync(path.join(ROOT, file), 'utf8')) as unknown,
        ).not.toThrow();
    }
    if (block.lang === 'graphql') expect(validationErrors(block.text)).toEqual([]);
    if (block.lang === 'js' || block.lang === 'ts')
      for (const document of graphqlInSnippet(block.text))
        expect([document, validationErrors(document)]).toEqual([document, []]);
    if (block.text.includes('typePolicies')) expect(typePolicyProblems(block.text)).toEqual([]);
  });

  it("docs/clients.md's Apollo Client snippet is what `npm run docs` writes from schema.graphql", async () => {
    const file = path.join(ROOT, 'docs', 'clients.md');
    const page = readFileSync(file, 'utf8');
    const typeDefs = parse(readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
    const options = await prettier.resolveConfig(file);
    const expected = await prettier.format(withApolloClientSnippet(page, typeDefs), {
      ...options,
      filepath: file,
    });
    expect(page).toBe(expected);
  });
});

// The keyed gateway really is keyed: a snippet run against it proves what keys allow.
describe('the gateway with API keys on', () => {
  it('refuses a request without its key', async () => {
    expect((await keyed.graphql('{ __typename }')).status).toBe(401);
    expect((await keyed.graphql('{ __typename }', {}, bearer(KEYS.finance))).data).toEqual({
      __typename: 'Query',
    });
  });
});
