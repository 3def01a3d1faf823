/**
 * The one step every operation passes before it runs, whatever its transport (POST, GET,
 * WebSocket, Server-Sent Events): a document's text becomes a parsed, validated document within
 * the same limits, with the same errors, and what it cost to get there is charged to its client.
 *
 * - **Before parsing:** the text's size (GATEWAY_MAX_DOCUMENT_BYTES); the parser itself stops at
 *   a token budget, so a document's parse costs at most that many tokens.
 * - **Before validating:** the work graphql-js's overlapping-fields rule would do (the one rule
 *   whose cost grows with the square of a selection's same-named fields) is estimated in one
 *   linear walk and refused past a budget, before any of it is spent (`overlapWork`).
 * - **Validation:** graphql-js's rules and ours (limits/validation.ts), its single-root-field
 *   rule for subscriptions replaced by one that does not throw (subscriptionRoot.ts); with schema
 *   details hidden (production), no "Did you mean …?" (what Apollo's own plugin strips for
 *   queries).
 * - **Documents are kept once per text**, byte-bounded by what they hold (an estimate of the
 *   AST, not the text), and without their token chain: a parsed document links every token of
 *   its text (~500 bytes a field), and a subscription keeps its document for as long as it
 *   lives. Only each node's position stays (and its first token's line and column), which is
 *   what error locations are computed from.
 *
 * Apollo Server reads prepared documents through `documentStore` (it then neither parses nor
 * validates again), and the live transports call `prepare` directly: one implementation.
 */
import { createHash } from 'node:crypto';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import {
  GraphQLError,
  Kind,
  parse,
  SingleFieldSubscriptionsRule,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { ErrorCode } from '../publicErrors.js';
import { ScalarInputError } from '../schema/scalars.js';
import { withArgument } from './argumentOf.js';
import { limitExceeded } from './limits/cost.js';
import { KnownOperationTypes, NoIntrospection } from './limits/validation.js';
import { SubscriptionSingleRootField } from './subscriptionRoot.js';

export interface PrepareLimits {
  maxDocumentBytes: number;
  /** Estimated pair comparisons validation may make (see `overlapWork`). */
  maxValidationWork: number;
}

export interface PrepareOptions {
  schema: GraphQLSchema;
  limits: PrepareLimits;
  /** Strip "Did you mean …?" from validation errors (production). */
  hideSchemaDetails: boolean;
  /** Answer `__schema` and `__type`; off: they are invalid (as Apollo's `introspection: false`). */
  introspection: boolean;
  /** What the kept documents may hold together, estimated. */
  maxCachedBytes?: number;
}

/** A document ready to run: valid against the schema, within the document limits. */
export interface PreparedDocument {
  document: DocumentNode;
  /** SHA-256 of the text, hex: Apollo's query hash. */
  hash: string;
  /** What keeping the document costs, estimated in bytes. */
  bytes: number;
}

/**
 * What preparing answered: the document, or the errors to answer with (nothing ran), with what
 * keeping them costs when they hold more than their messages (the text, nodes of the document).
 */
export type Prepared = PreparedDocument | { errors: GraphQLError[]; bytes?: number };

/** Bytes a kept AST node weighs (measured: 1,500 fields, tokens dropped, 580 kB: ~190 B a node). */
const BYTES_PER_NODE = 220;
/** Parse and validation time charged as one request to the client's bucket. */
export const PREPARE_MS_PER_REQUEST = 5;

/**
 * The CPU time of the thread that calls it where Node has `process.threadCpuUsage` (Node 24 does,
 * Node 20 does not), else of the whole process, which counts V8's background threads too.
 */
const threadCpu: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage =
  (
    process as { threadCpuUsage?: (previous?: NodeJS.CpuUsage) => NodeJS.CpuUsage }
  ).threadCpuUsage?.bind(process) ?? process.cpuUsage.bind(process);

/** A document that takes the parser and every validation rule through their first use. */
const WARM_UP_DOCUMENT =
  'query WarmUp($id: ID!) { channel(id: $id) { id ...C } } fragment C on Channel { __typename }';

/** Refusals before anything runs are request errors: HTTP 400, like invalid documents. */
const BEFORE_EXECUTION = { http: { status: 400 } };

export class OperationPreparer {
  private readonly documents: LRUCache<string, Prepared>;
  private readonly rules: readonly ValidationRule[];
  private readonly maxTokens: number;

  constructor(private readonly options: PrepareOptions) {
    this.documents = new LRUCache({
      maxSize: options.maxCachedBytes ?? 32 * 1024 * 1024,
      sizeCalculation: (prepared) => prepared.bytes ?? 1_000,
    });
    this.rules = [
      // graphql-js's single-root-field rule throws on some root @skip/@include (subscriptionRoot.ts).
      ...specifiedRules.map((rule) =>
        rule === SingleFieldSubscriptionsRule ? SubscriptionSingleRootField : rule,
      ),
      KnownOperationTypes,
      ...(options.introspection ? [] : [NoIntrospection]),
    ];
    // A token is at least one byte plus, in practice, a separator.
    this.maxTokens = Math.max(1_000, Math.floor(options.limits.maxDocumentBytes / 2));
    // V8 compiles the parser and the validation rules on their first use: that is paid here, at
    // start, not charged to the first client's document (10 to 15 ms of this thread's CPU under
    // a loaded test run, 2 or 3 tokens for `{ __typename }`). Kept nowhere.
    this.prepareAnew(WARM_UP_DOCUMENT, queryHash(WARM_UP_DOCUMENT));
  }

  /**
   * The document of a text, prepared once per text. `spentMs` is the CPU time this call took
   * when it parsed and validated (0 for a document prepared before): the caller charges it to
   * its client. CPU time, not the clock's, and this thread's (threadCpu): preparing is
   * synchronous on it, so a machine busy with other processes, or V8's own threads compiling
   * and marking meanwhile, do not make a client pay for time they ran. (The clock made
   * `{ __typename }` cost a token on a loaded machine; the process's CPU time made a gateway's
   * first light document cost 10 to 17 tokens under a loaded test run.)
   */
  prepare(query: string): { prepared: Prepared; spentMs: number } {
    const hash = queryHash(query);
    const known = this.documents.get(hash);
    if (known) return { prepared: known, spentMs: 0 };
    const started = threadCpu();
    const prepared = this.prepareAnew(query, hash);
    const { user, system } = threadCpu(started);
    const spentMs = (user + system) / 1000;
    this.documents.set(hash, prepared);
    return { prepared, spentMs };
  }

  /** Apollo's view of the prepared documents: only valid ones, by Apollo's key. */
  readonly documentStore: KeyValueCache<DocumentNode> = {
    get: async (key) => {
      // Apollo's key is `<schema hash>:<query hash>` for a store it is given.
      const prepared = this.documents.get(key.slice(key.lastIndexOf(':') + 1));
      return prepared && 'document' in prepared ? prepared.document : undefined;
    },
    // Apollo stores what it parsed itself only when we did not prepare it first (never, on our
    // paths): our limits decide what is kept, so its copies are not.
    set: async () => undefined,
    delete: async () => undefined,
  };

  private prepareAnew(query: string, hash: string): Prepared {
    const { limits, schema } = this.options;
    const bytes = Buffer.byteLength(query);
    if (bytes > limits.maxDocumentBytes)
      return refused(
        limitExceeded(
          'documentSize',
          `The query document is ${bytes} bytes; the limit is ${limits.maxDocumentBytes}.`,
          { max: limits.maxDocumentBytes, actual: bytes, ...BEFORE_EXECUTION },
        ),
      );
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: this.maxTokens });
    } catch (error) {
      // The parser recurses once per nesting level: a document of 10,000 `[` ends its stack.
      const syntax =
        error instanceof GraphQLError
          ? error
          : new GraphQLError('Syntax Error: the document nests too deeply to be read.');
      // The error keeps the text (its source, for locations).
      return {
        errors: [withCode(syntax, ApolloServerErrorCode.GRAPHQL_PARSE_FAILED)],
        bytes: bytes + 1_000,
      };
    }
    const work = overlapWork(document, limits.maxValidationWork);
    if (work > limits.maxValidationWork)
      return refused(
        limitExceeded(
          'validation',
          `Validating this document would compare more than ${limits.maxValidationWork} pairs of same-named fields; ask for each field once.`,
          { max: limits.maxValidationWork, ...BEFORE_EXECUTION },
        ),
      );
    let invalid: readonly GraphQLError[];
    try {
      invalid = validate(schema, document, this.rules);
    } catch (error) {
      // A rule that throws instead of reporting: graphql-js 16's single-root-field rule for
      // subscriptions did (`@include(if: "")`) until subscriptionRoot.ts replaced it. The
      // document is as invalid, and says so as one error.
      if (!(error instanceof GraphQLError)) throw error;
      invalid = [error];
    }
    if (invalid.length > 0)
      return {
        errors: refusals(invalid, document, this.options.hideSchemaDetails),
        // Its errors' nodes are kept with it: without their tokens (through one node's, every
        // token of the text: ~300 kB for a 17 kB document, which was counted as 1 kB), and
        // weighed as a valid document is, the nodes at most.
        bytes: bytes + BYTES_PER_NODE * dropTokens(document),
      };
    return { document, hash, bytes: bytes + BYTES_PER_NODE * dropTokens(document) };
  }
}

/**
 * A validation error as answered. A value one of our scalars refused, written in the query
 * (`startDate: "2026-02-30"`): graphql-js reports the scalar's error, as thrown, while
 * validating; but it is a bad argument value, as the same value in a variable is: BAD_USER_INPUT
 * naming the argument (with validation's status).
 */
function refusals(
  invalid: readonly GraphQLError[],
  document: DocumentNode,
  hideSchemaDetails: boolean,
): GraphQLError[] {
  // A loop, not a closure over `document` in prepareAnew: on Node 24 that closure (reachable from
  // the errors' stack traces, kept unformatted) made each refused document keep ~340 kB instead
  // of ~20 kB (test/preparedErrors.test.ts).
  const errors: GraphQLError[] = [];
  for (const error of invalid)
    errors.push(
      error instanceof ScalarInputError
        ? withCode(withArgument(document, error), ErrorCode.BadUserInput)
        : withCode(
            error,
            ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
            hideSchemaDetails ? withoutSuggestions(error.message) : error.message,
          ),
    );
  return errors;
}

/** Apollo's query hash. */
export const queryHash = (query: string): string =>
  createHash('sha256').update(query).digest('hex');

const refused = (error: GraphQLError): Prepared => ({ errors: [error] });

/** What Apollo's suggestion-hiding plugin strips, the same way. */
const withoutSuggestions = (message: string) => message.replace(/ ?Did you mean(.+?)\?$/, '');

/** A GraphQL error with its code (and the status of a refusal before execution). */
export function withCode(error: unknown, code: string, message?: string): GraphQLError {
  if (error instanceof GraphQLError)
    return new GraphQLError(message ?? error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      // As Apollo wraps a validation error: the error itself when it wraps nothing.
      originalError: error.originalError ?? error,
      extensions: { ...error.extensions, code, ...BEFORE_EXECUTION },
    });
  return new GraphQLError(error instanceof Error ? error.message : String(error), {
    extensions: { code, ...BEFORE_EXECUTION },
  });
}

/**
 * Replaces every node's location (which links the first and last token, and through them every
 * token of the text) by its positions and its first token's line and column alone: what
 * GraphQLError and graphql-jit read. Returns how many nodes the document has.
 */
function dropTokens(document: DocumentNode): number {
  const source = document.loc?.source;
  let nodes = 0;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const node = value as {
      kind?: unknown;
      loc?: { start: number; end: number; startToken: { line: number; column: number } };
    };
    if (typeof node.kind !== 'string') return;
    nodes++;
    if (node.loc) {
      const { start, end, startToken } = node.loc;
      // graphql-jit reads a node's line and column from its first token: that much is kept.
      const first = { line: startToken.line, column: startToken.column };
      node.loc = { start, end, source, startToken: first } as never;
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'loc') visit(child);
  };
  visit(document);
  return nodes;
}

/**
 * An estimate, in one walk, of the work graphql-js's OverlappingFieldsCanBeMerged rule will do:
 * within each selection set (fragments spread into it included), every pair of fields with the
 * same response name is compared, and so are their sub-selections. A group of n such fields
 * whose selections hold s nodes in all counts n × (n + s). Legitimate documents ask for each
 * field once (n = 1) and stay far below any budget; `{ topReceivers … }` repeated 570 times
 * counts 1.3 million (0.2–0.8 s of validation). The walk stops as soon as `budget` is passed.
 */
export function overlapWork(document: DocumentNode, budget: number): number {
  const fragments = new Map<string, SelectionSetNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition.selectionSet);

  let work = 0;
  /** A selection set's nodes, and its fields by response name (fragments expanded). */
  type Groups = Map<string, { n: number; s: number }>;
  const flattened = new Map<SelectionSetNode, { size: number; groups: Groups }>();
  const expanding = new Set<SelectionSetNode>();

  const walk = (set: SelectionSetNode): { size: number; groups: Groups } => {
    const known = flattened.get(set);
    if (known) return known;
    const result = { size: 0, groups: new Map() as Groups };
    // A cycle of fragments is invalid (validation says so); it adds nothing here.
    if (expanding.has(set)) return result;
    expanding.add(set);
    const add = (name: string, n: number, s: number) => {
      const group = result.groups.get(name) ?? { n: 0, s: 0 };
      const before = group.n * (group.n + group.s);
      group.n += n;
      group.s += s;
      result.groups.set(name, group);
      work += group.n * (group.n + group.s) - before;
    };
    for (const selection of set.selections) {
      if (work > budget) break;
      if (selection.kind === Kind.FIELD) {
        const below = selection.selectionSet ? walk(selection.selectionSet).size : 0;
        result.size += 1 + below;
        add(selection.alias?.value ?? selection.name.value, 1, below);
        continue;
      }
      const inner =
        selection.kind === Kind.INLINE_FRAGMENT
          ? selection.selectionSet
          : fragments.get(selection.name.value);
      if (!inner) continue;
      const spread = walk(inner);
      result.size += 1 + spread.size;
      for (const [name, group] of spread.groups) {
        add(name, group.n, group.s);
        if (work > budget) break;
      }
    }
    expanding.delete(set);
    flattened.set(set, result);
    return result;
  };

  for (const definition of document.definitions) {
    if (work > budget) break;
    if (
      definition.kind === Kind.OPERATION_DEFINITION ||
      definition.kind === Kind.FRAGMENT_DEFINITION
    )
      walk(definition.selectionSet);
  }
  return work;
}
