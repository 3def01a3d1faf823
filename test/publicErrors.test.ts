/**
 * The public list of errors is complete: every `extensions.code` and every UPSTREAM_UNAVAILABLE
 * `reason` the gateway can emit is in the "Errors" section of docs/api.md. What can be emitted is read
 * from the code tables (src/publicErrors.ts) and, for the objects the type checker cannot hold to
 * those tables (`extensions` are `Record<string, unknown>`), from the source itself.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { ErrorCode, LimitReason, UnavailableReason } from '../src/publicErrors.js';

const apiPage = readFileSync(new URL('../docs/api.md', import.meta.url), 'utf8');
/** From its heading to the next one of the same level. */
const errorsStart = apiPage.indexOf('\n## Errors\n');
const errorsSection = apiPage.slice(errorsStart, apiPage.indexOf('\n## ', errorsStart + 1));
const backticked = (text: string) => [...text.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);

/** Codes in the first column of the Errors table. */
const documentedCodes = new Set(
  errorsSection
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => backticked(line.split('|')[1]!)),
);
/** Reasons in the paragraph that lists UPSTREAM_UNAVAILABLE's. */
const reasonsParagraph = errorsSection
  .slice(errorsSection.indexOf('`UPSTREAM_UNAVAILABLE` reasons:'))
  .split('\n\n')[0]!;
const documentedReasons = new Set(
  backticked(reasonsParagraph).filter((word) => word !== ErrorCode.UpstreamUnavailable),
);

interface Emitted {
  key: 'code' | 'reason';
  /** Every string it can be, as the type checker sees it; undefined for "any string". */
  values: string[] | undefined;
  where: string;
}

/**
 * Every `code` and `reason` given inside an `extensions` object in src/ (the emulator, which
 * speaks for Polyv, aside), with the strings its type allows. `extensions` are
 * `Record<string, unknown>`, so this is where a string the tables do not hold could slip out.
 */
function emittedInExtensions(): Emitted[] {
  const root = new URL('../src/', import.meta.url).pathname;
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.startsWith('emulator'))
    .map((file) => join(root, file));
  const config = ts.getParsedCommandLineOfConfigFile(
    new URL('../tsconfig.json', import.meta.url).pathname,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
  );
  const program = ts.createProgram(files, { ...config!.options, noEmit: true });
  const checker = program.getTypeChecker();
  const stringsOf = (expression: ts.Expression): string[] | undefined => {
    const type = checker.getTypeAtLocation(expression);
    const members = type.isUnion() ? type.types : [type];
    return members.every((member) => member.isStringLiteral())
      ? members.map((member) => (member as ts.StringLiteralType).value)
      : undefined;
  };
  const named = (node: ts.Node, ...names: string[]): node is ts.PropertyAssignment =>
    ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && names.includes(node.name.text);

  const found: Emitted[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node, inExtensions: boolean): void => {
      if (inExtensions && named(node, 'code', 'reason')) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        found.push({
          key: (node.name as ts.Identifier).text as 'code' | 'reason',
          values: stringsOf(node.initializer),
          where: `src/${file.slice(root.length)}:${line + 1}`,
        });
      }
      ts.forEachChild(node, (child) => visit(child, inExtensions || named(node, 'extensions')));
    };
    visit(source, false);
  }
  return found;
}

describe('the public list of errors', () => {
  it.each(Object.values(ErrorCode))('documents the code %s', (code) => {
    expect(documentedCodes).toContain(code);
  });

  it.each(Object.values(UnavailableReason))(
    'documents the UPSTREAM_UNAVAILABLE reason %s',
    (reason) => {
      expect(documentedReasons).toContain(reason);
    },
  );

  it.each(Object.values(LimitReason))('documents the QUERY_LIMIT_EXCEEDED reason %s', (reason) => {
    expect(errorsSection).toContain(`\`${reason}\``);
  });

  it('documents no code or reason the tables do not have (GraphQL-js and Apollo codes aside)', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    expect(
      [...documentedCodes].filter((code) => !codes.has(code) && !code.startsWith('GRAPHQL_')),
    ).toEqual([]);
    const reasons = new Set<string>(Object.values(UnavailableReason));
    expect([...documentedReasons].filter((reason) => !reasons.has(reason))).toEqual([]);
  });

  it('emits codes and reasons only from the tables, even where the types allow any string', () => {
    const emitted = emittedInExtensions();
    // The scan sees where failures become codes and reasons (pagination's LIST_CHANGING, which
    // issue 10 found missing from the list, is now mapped there).
    expect(emitted.map(({ key, where }) => `${key} ${where.replace(/:\d+$/, '')}`)).toEqual(
      expect.arrayContaining([
        'reason src/server/errorFormatter.ts',
        'code src/server/errorFormatter.ts',
        'code src/schema/clientErrors.ts',
      ]),
    );
    const tables = {
      code: new Set<string>(Object.values(ErrorCode)),
      reason: new Set<string>([...Object.values(UnavailableReason), ...Object.values(LimitReason)]),
    };
    const outside = emitted.filter(
      ({ key, values }) => values === undefined || values.some((value) => !tables[key].has(value)),
    );
    expect(outside).toEqual([]);
    // The type checker over all of src/ takes seconds, more on a loaded machine.
  }, 120_000);
});
