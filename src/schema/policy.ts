/**
 * Policy declared in the schema, read once at start-up: the `@cacheControl` hints on fields and
 * types, and federation's demand-control directives (`@cost`, `@listSize`) on fields. Nothing
 * beside the schema lists field names: a field added with a hint is cacheable the day it lands
 * (one added without stays uncacheable until someone decides otherwise), and a field added with
 * a weight or a list size is measured by it.
 */
import {
  getNamedType,
  isObjectType,
  isUnionType,
  valueFromASTUntyped,
  type ConstDirectiveNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

/** A `@cacheControl` hint: a max-age in seconds, or "as old as the data read" (inherit). */
export interface CacheHint {
  maxAge?: number;
  inheritMaxAge?: boolean;
}

export interface CachePolicyMap {
  /**
   * The hint that makes `Type.field` cacheable (the field's own, else its type's: for a union,
   * the smallest of its members', and only when every member has one), or undefined.
   */
  hintOf(typeName: string, fieldName: string): CacheHint | undefined;
}

export function readCachePolicy(schema: GraphQLSchema): CachePolicyMap {
  const typeHints = new Map<string, CacheHint | undefined>();
  const typeHint = (type: GraphQLNamedType): CacheHint | undefined => {
    if (!typeHints.has(type.name)) {
      let hint: CacheHint | undefined;
      if (isUnionType(type)) {
        const members = type.getTypes().map(typeHint);
        if (members.every((member) => member !== undefined)) hint = smallest(members);
      } else {
        hint = hintIn(type.astNode?.directives);
      }
      typeHints.set(type.name, hint);
    }
    return typeHints.get(type.name);
  };

  const fieldHints = new Map<string, CacheHint | undefined>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      fieldHints.set(
        `${type.name}.${field.name}`,
        hintIn(field.astNode?.directives) ?? typeHint(getNamedType(field.type)),
      );
    }
  }
  return {
    hintOf: (typeName, fieldName) =>
      // `__typename` carries no data: it never makes an answer uncacheable.
      fieldName === '__typename' ? {} : fieldHints.get(`${typeName}.${fieldName}`),
  };
}

function hintIn(directives: readonly ConstDirectiveNode[] | undefined): CacheHint | undefined {
  const directive = directives?.find((node) => node.name.value === 'cacheControl');
  if (!directive) return undefined;
  const hint: CacheHint = {};
  for (const argument of directive.arguments ?? []) {
    const value: unknown = valueFromASTUntyped(argument.value);
    if (argument.name.value === 'maxAge' && typeof value === 'number') hint.maxAge = value;
    if (argument.name.value === 'inheritMaxAge' && value === true) hint.inheritMaxAge = true;
  }
  return hint;
}

/** The most restrictive of several hints: the smallest max-age any of them sets. */
function smallest(hints: CacheHint[]): CacheHint {
  const ages = hints.flatMap((hint) => (hint.maxAge === undefined ? [] : [hint.maxAge]));
  return ages.length > 0 ? { maxAge: Math.min(...ages) } : { inheritMaxAge: true };
}

/** `@listSize`, as federation (and Apollo Router's demand control) defines it. */
export interface ListSize {
  /** Items to assume when no slicing argument says. */
  assumedSize?: number;
  /** Int arguments whose value is the size (the largest given, when several). */
  slicingArguments: string[];
  /** Child fields the size applies to instead of this one (a connection's `edges`, `nodes`). */
  sizedFields: string[];
}

/** What measuring an operation needs to know about a field. */
export interface FieldCost {
  /** `@cost(weight)`: on a field that reads Polyv, what each page call it makes costs. */
  weight?: number;
  listSize?: ListSize;
}

export interface CostPolicyMap {
  costOf(typeName: string, fieldName: string): FieldCost | undefined;
}

const costPolicies = new WeakMap<GraphQLSchema, CostPolicyMap>();

/** The schema's `@cost` and `@listSize` by `Type.field`, read once per schema. */
export function readCostPolicy(schema: GraphQLSchema): CostPolicyMap {
  const known = costPolicies.get(schema);
  if (known) return known;
  const costs = new Map<string, FieldCost>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const directives = field.astNode?.directives;
      const weight = argumentsOf(directives, 'cost')?.weight;
      const listSize = argumentsOf(directives, 'listSize');
      if (weight === undefined && listSize === undefined) continue;
      costs.set(`${type.name}.${field.name}`, {
        ...(typeof weight === 'number' ? { weight } : {}),
        ...(listSize
          ? {
              listSize: {
                ...(typeof listSize.assumedSize === 'number'
                  ? { assumedSize: listSize.assumedSize }
                  : {}),
                slicingArguments: strings(listSize.slicingArguments),
                sizedFields: strings(listSize.sizedFields),
              },
            }
          : {}),
      });
    }
  }
  const policy: CostPolicyMap = {
    costOf: (typeName, fieldName) => costs.get(`${typeName}.${fieldName}`),
  };
  costPolicies.set(schema, policy);
  return policy;
}

function argumentsOf(
  directives: readonly ConstDirectiveNode[] | undefined,
  name: string,
): Record<string, unknown> | undefined {
  const directive = directives?.find((node) => node.name.value === name);
  if (!directive) return undefined;
  return Object.fromEntries(
    (directive.arguments ?? []).map((argument) => [
      argument.name.value,
      valueFromASTUntyped(argument.value),
    ]),
  );
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
