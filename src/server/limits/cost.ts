/**
 * Measuring an operation before it runs: depth, aliases, root fields, cost and upstream calls,
 * in time linear in the document.
 *
 * Two things make that hold whatever the document:
 * - Each fragment is measured once per context (the type it is spread on and the page size
 *   around it) and its measure is reused wherever it is spread again. Spreads that double at
 *   every level (`F(i) { ...F(i-1) ...F(i-1) }`) cost one measure per fragment, not 2^i walks.
 * - Every part's measure is a lower bound of the whole's (a list multiplies what is below it by
 *   at least 1), so the walk stops with a refusal the moment any running count passes its limit.
 *
 * Arguments are read as the executor will read them: variables coerced against the operation's
 * definitions, defaults included (graphql-js `getVariableValues`), then each field's arguments
 * with their defaults (`getArgumentValues`). An argument that cannot be read counts as the worst
 * case.
 *
 * Cost estimates how many objects and fields an answer may hold, with the weights and list sizes
 * the schema declares (federation's `@cost` and `@listSize`, read by schema/policy.ts): every
 * field costs 1, plus its `@cost` weight for each Polyv page call it makes (a connection one, or
 * two for `last` counted from the end; a summary every page it may walk), and a list multiplies
 * what is below it by its size: the page size (`@listSize` slicing arguments, else its
 * assumedSize) for the fields a connection sizes (`sizedFields`), a list's own slicing argument,
 * the length of a list argument (one item per `ids` or entity `representations`, refused past
 * `maxIds`), its assumedSize, else LIST_ESTIMATE. Introspection (`__schema`, `__type`) is not
 * counted; it is switched on or off on its own.
 *
 * Upstream records count what the operation will fetch and hold until it ends (its DataLoader
 * keeps every page): for each connection, the records of the pages the planner reads for its
 * window (`plannedRecordsBound`), times every list above it, whatever the selection below it
 * (a page is fetched whole). Summaries add their pages up and let them go: they hold none.
 */
import {
  getArgumentValues,
  getVariableValues,
  getNamedType,
  getNullableType,
  GraphQLError,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { ErrorCode } from '../../publicErrors.js';
import { DEFAULT_PAGE_SIZE } from '../../pagination/connection.js';
import { readCostPolicy, type CostPolicyMap, type ListSize } from '../../schema/policy.js';
import { MAX_PAGE_SIZE as MAX_UPSTREAM_PAGE_SIZE } from '../../pagination/page.js';
import { plannedRecordsBound } from '../../pagination/planner.js';

export interface CostLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxCost: number;
  /** Upstream calls one operation may make (a connection is one, a summary one per page). */
  maxUpstreamCalls: number;
  /** Records one operation may fetch and hold: its connections' pages. */
  maxUpstreamRecords: number;
  /** Longest `ids` or `representations` list. */
  maxIds: number;
  /** The most records one summary may add up: decides how many pages it may walk. */
  summaryMaxRecords: number;
}

/** Items a list without `@listSize` is assumed to hold (as a router's default list size). */
export const LIST_ESTIMATE = 10;
/** The largest page a connection may ask for; also the worst case of a page size we cannot read. */
const MAX_PAGE = 1000;

/** Page calls a summary may make: every page of its largest list (Polyv's largest pages). */
export const summaryPages = (summaryMaxRecords: number): number =>
  Math.ceil(summaryMaxRecords / MAX_UPSTREAM_PAGE_SIZE);

export type Limit =
  | 'depth'
  | 'aliases'
  | 'rootFields'
  | 'cost'
  | 'upstreamCalls'
  | 'upstreamRecords'
  | 'listSize'
  | 'documentSize'
  | 'validation'
  | 'responseSize'
  | 'summaryRecords'
  // Live updates (server/subscriptions.ts, live/hub.ts).
  | 'subscriptions'
  | 'subscriptionsPerClient'
  | 'subscriptionsPerConnection'
  | 'liveChannels'
  | 'subscriptionDocuments'
  | 'subscriptionDocumentsPerClient';

/** A refusal naming the limit, for the client (HTTP 400 when it comes before execution). */
export function limitExceeded(
  limit: Limit,
  message: string,
  extra: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.QueryLimitExceeded, limit, ...extra },
  });
}

/** Refusals before execution are request errors: HTTP 400, like invalid documents. */
const BEFORE_EXECUTION = { http: { status: 400 } };

/** What a selection set adds up to, each count for one resolution of it. */
interface Measure {
  cost: number;
  upstreamCalls: number;
  /** Records the connections' pages hold. */
  records: number;
  /** Aliases in the set and everything below it, fragments expanded. */
  aliases: number;
  /** Fields directly in the set, fragments expanded: the root fields when it is the root. */
  fields: number;
  /** Levels of fields, this one included. */
  depth: number;
}

/** Inside a connection: the fields its page size multiplies (`sizedFields`), and that size. */
interface Sized {
  fields: readonly string[];
  size: number;
}

const empty = (): Measure => ({
  cost: 0,
  upstreamCalls: 0,
  records: 0,
  aliases: 0,
  fields: 0,
  depth: 0,
});

/**
 * Measures the operation a request runs: its document's fragments gathered, its variables
 * coerced as the executor will coerce them. Undefined when there is nothing to measure: the
 * schema has no such root type, or the variables do not coerce (the executor then refuses the
 * request with BAD_USER_INPUT before any resolver runs). Throws the first limit passed.
 */
export function measureRequest(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  limits: CostLimits,
): Measure | undefined {
  const root = schema.getRootType(operation.operation);
  if (!root) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  return measureOperation(schema, fragments, coerced.coerced, root, operation.selectionSet, limits);
}

/**
 * Measures an operation against `limits`, throwing the first limit it passes. `variables` are
 * already coerced (defaults applied); see `coerceVariables`.
 */
export function measureOperation(
  schema: GraphQLSchema,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  root: GraphQLObjectType,
  selectionSet: SelectionSetNode,
  limits: CostLimits,
): Measure {
  return new Walk(schema, fragments, variables, root, limits).selectionSet(
    selectionSet,
    root,
    undefined,
  );
}

class Walk {
  /** A fragment's measure by fragment, type and page size: the same in every place it is spread. */
  private readonly measured = new Map<string, Measure>();
  private readonly expanding = new Set<string>();
  private readonly summaryCalls: number;
  private readonly policy: CostPolicyMap;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
    private readonly root: GraphQLObjectType,
    private readonly limits: CostLimits,
  ) {
    this.summaryCalls = summaryPages(limits.summaryMaxRecords);
    this.policy = readCostPolicy(schema);
  }

  /** A selection set on `parent`, directly inside a connection when `sized` is given. */
  selectionSet(
    selectionSet: SelectionSetNode,
    parent: GraphQLObjectType,
    sized: Sized | undefined,
  ): Measure {
    const total = empty();
    for (const selection of selectionSet.selections) {
      const part =
        selection.kind === Kind.FIELD
          ? this.field(selection, parent, sized)
          : selection.kind === Kind.INLINE_FRAGMENT
            ? this.selectionSet(
                selection.selectionSet,
                this.conditionType(selection.typeCondition?.name.value, parent),
                sized,
              )
            : this.fragment(selection.name.value, parent, sized);
      total.cost += part.cost;
      total.upstreamCalls += part.upstreamCalls;
      total.records += part.records;
      total.aliases += part.aliases;
      total.fields += part.fields;
      total.depth = Math.max(total.depth, part.depth);
      this.check(total, parent === this.root);
    }
    return total;
  }

  private fragment(name: string, parent: GraphQLObjectType, sized: Sized | undefined) {
    const fragment = this.fragments.get(name);
    // Validation already rejects unknown fragments and cycles; this only guards the walk.
    if (!fragment || this.expanding.has(name)) return empty();
    const type = this.conditionType(fragment.typeCondition.name.value, parent);
    const key = `${name}\u0000${type.name}\u0000${sized ? `${sized.size}:${sized.fields.join()}` : ''}`;
    const known = this.measured.get(key);
    if (known) return known;
    this.expanding.add(name);
    const measure = this.selectionSet(fragment.selectionSet, type, sized);
    this.expanding.delete(name);
    this.measured.set(key, measure);
    return measure;
  }

  private conditionType(name: string | undefined, parent: GraphQLObjectType): GraphQLObjectType {
    const type = name ? this.schema.getType(name) : parent;
    return isObjectType(type) ? type : parent;
  }

  private field(field: FieldNode, parent: GraphQLObjectType, sized: Sized | undefined) {
    const name = field.name.value;
    if (name === '__schema' || name === '__type') return empty();
    const own: Measure = {
      cost: 1,
      upstreamCalls: 0,
      records: 0,
      aliases: field.alias ? 1 : 0,
      fields: 1,
      depth: 1,
    };
    const definition = parent.getFields()[name];
    if (!definition || !field.selectionSet) return own;
    const returned = getNamedType(definition.type);
    // Entities (_Entity is a union) are measured as Channels: the only type we resolve.
    const childType = isObjectType(returned) ? returned : this.schema.getType('Channel');
    if (!isObjectType(childType) || (!isObjectType(returned) && returned.name !== '_Entity'))
      return own;

    const args = this.argumentsOf(definition, field);
    const { weight = 0, listSize } = this.policy.costOf(parent.name, name) ?? {};
    // A field that sizes child fields is a connection over one Polyv list; any other field with
    // a weight walks a whole list (a summary).
    const isConnection = listSize !== undefined && listSize.sizedFields.length > 0;
    const calls = isConnection ? this.connectionCalls(args) : weight > 0 ? this.summaryCalls : 0;
    const records = isConnection ? this.connectionRecords(args, listSize) : 0;
    const childSized = isConnection
      ? { fields: listSize.sizedFields, size: this.pageSize(args, listSize) }
      : undefined;
    // At least 1, so that what is below always counts towards the whole: that is what lets
    // the walk stop as soon as a part passes a limit. An empty page is measured as a page of one.
    const multiplier = Math.max(
      1,
      sized?.fields.includes(name)
        ? sized.size
        : isListType(getNullableType(definition.type)) && !isConnection
          ? this.listSizeOf(field, definition, args, listSize)
          : 1,
    );
    const children = this.selectionSet(field.selectionSet, childType, childSized);
    return {
      cost: 1 + calls * weight + multiplier * children.cost,
      upstreamCalls: calls + multiplier * children.upstreamCalls,
      records: records + multiplier * children.records,
      aliases: own.aliases + children.aliases,
      fields: 1,
      depth: 1 + children.depth,
    };
  }

  /** The field's arguments as the executor will see them; undefined when they cannot be read. */
  private argumentsOf(
    definition: GraphQLField<unknown, unknown>,
    field: FieldNode,
  ): Record<string, unknown> | undefined {
    try {
      return getArgumentValues(definition, field, this.variables);
    } catch {
      // The field will fail with this error when it runs; until then, assume the worst.
      return undefined;
    }
  }

  /** `last` with no `before` first asks for the list's length: one more call. */
  private connectionCalls(args: Record<string, unknown> | undefined): number {
    if (!args) return 2;
    return isSet(args.last) && !isSet(args.first) && !isSet(args.before) ? 2 : 1;
  }

  /**
   * Records the connection's pages hold (connection.ts reads them). From the head of the list
   * (no cursor, no `last` counted from the end) its window is one page of exactly its size
   * (a page of one when it is empty: the list's length). Anywhere else, the planner's bound for
   * the window plus the cursors' own records, and `last` from the end first reads one record
   * for the length. A re-read after the list moved under a cursor is not counted: the run-time
   * budget is.
   */
  private connectionRecords(args: Record<string, unknown> | undefined, listSize: ListSize): number {
    if (!args) return 1 + plannedRecordsBound(MAX_PAGE + 2);
    const window = this.pageSize(args, listSize);
    const cursors = (isSet(args.after) ? 1 : 0) + (isSet(args.before) ? 1 : 0);
    if (cursors === 0 && !isSet(args.last)) return Math.max(1, window);
    const fromEnd = isSet(args.last) && !isSet(args.first) && !isSet(args.before);
    return (fromEnd ? 1 : 0) + plannedRecordsBound(window + cursors);
  }

  /** A connection's page: the largest slicing argument given, else its assumed size. */
  private pageSize(args: Record<string, unknown> | undefined, listSize: ListSize): number {
    if (!args) return MAX_PAGE;
    const given = listSize.slicingArguments.flatMap((name) => {
      const value = count(args[name]);
      return value === undefined ? [] : [value];
    });
    return given.length > 0 ? Math.max(...given) : (listSize.assumedSize ?? DEFAULT_PAGE_SIZE);
  }

  /** How many items a list field (not a connection's sized field) is assumed to return. */
  private listSizeOf(
    field: FieldNode,
    definition: GraphQLField<unknown, unknown>,
    args: Record<string, unknown> | undefined,
    listSize: ListSize | undefined,
  ): number {
    for (const name of listSize?.slicingArguments ?? []) {
      const value = args ? count(args[name]) : undefined;
      if (value !== undefined) return value;
    }
    // A list asked for by a list of keys (`ids`, entity `representations`): one item per key.
    const keys = definition.args.find((argument) => isListType(getNullableType(argument.type)));
    if (keys) return this.listLength(field, keys.name, args);
    return listSize?.assumedSize ?? LIST_ESTIMATE;
  }

  /** Length of a list argument, refused past `maxIds`; unreadable counts as the longest allowed. */
  private listLength(
    field: FieldNode,
    argument: string,
    args: Record<string, unknown> | undefined,
  ): number {
    const value = args?.[argument];
    if (!Array.isArray(value)) return this.limits.maxIds;
    const max = this.limits.maxIds;
    if (value.length > max) {
      throw limitExceeded(
        'listSize',
        `\`${field.name.value}\` was given ${value.length} ${argument}; the limit is ${max}. Ask in several requests.`,
        { argument, max, actual: value.length, ...BEFORE_EXECUTION },
      );
    }
    return value.length;
  }

  /** Throws the first limit a running measure has passed (each is a lower bound of the total). */
  private check(measure: Measure, atRoot: boolean): void {
    const { limits } = this;
    if (atRoot) over('rootFields', measure.fields, limits.maxRootFields, 'root fields');
    over('aliases', measure.aliases, limits.maxAliases, 'aliases');
    over('depth', measure.depth, limits.maxDepth, 'levels deep');
    over(
      'upstreamCalls',
      measure.upstreamCalls,
      limits.maxUpstreamCalls,
      'upstream calls to make (a connection is one or two, a summary one per page it may walk)',
      ': one query must not use up the upstream budget every client shares',
    );
    over(
      'upstreamRecords',
      measure.records,
      limits.maxUpstreamRecords,
      'upstream records to fetch and hold (each connection its page size, times every list above it)',
      ': ask for smaller pages or fewer lists in one request',
    );
    over(
      'cost',
      measure.cost,
      limits.maxCost,
      'estimated cost',
      ' (page sizes multiply the cost of what is below them: ask for smaller pages or fewer fields)',
    );
  }
}

function over(limit: Limit, actual: number, max: number, what: string, hint = ''): void {
  if (actual <= max) return;
  const shown = Number.isFinite(actual) ? Math.ceil(actual) : Number.MAX_SAFE_INTEGER;
  throw limitExceeded(limit, `The query has ${shown} ${what}; the limit is ${max}${hint}.`, {
    max,
    actual: shown,
    ...BEFORE_EXECUTION,
  });
}

const isSet = (value: unknown) => value !== undefined && value !== null;

/** A page size as the resolver will take it; one it will refuse counts as the largest. */
function count(value: unknown): number | undefined {
  if (!isSet(value)) return undefined;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
    ? Math.min(value, MAX_PAGE)
    : MAX_PAGE;
}
