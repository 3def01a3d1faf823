/**
 * The schema as documentation (issue 13): every type, field, argument, enum value and input value
 * of ours has a description, by graphql-schema-linter's own description rules run over the schema
 * the gateway serves, and the custom scalars say which spec their strings follow (@specifiedBy).
 * Federation's additions (`_Service`, `_Entity`, `_Any`, `Query._entities`, `link__*`, ...) are
 * not ours to document: whatever schema.graphql does not define is left to the linter's ignore list.
 */
import { describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import {
  isEnumType,
  isInputObjectType,
  isIntrospectionType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
  Kind,
  printSchema,
  visit,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import linter from 'graphql-schema-linter';
import sourceMap from 'graphql-schema-linter/lib/source_map.js';
import { buildSchema, typeDefs } from '../src/schema/index.js';

const { Configuration } = linter.configuration;
const { validateSchemaDefinition } = linter.validator;

/** The linter's rules that ask for descriptions, and only those. */
const DESCRIPTION_RULES = [
  'types-have-descriptions',
  'fields-have-descriptions',
  'arguments-have-descriptions',
  'enum-values-have-descriptions',
  'input-object-values-have-descriptions',
];

/** Schema coordinates (`Type`, `Type.field`, `Type.field.arg`, `Enum.VALUE`) defined in `document`. */
function coordinatesOf(document: DocumentNode): Set<string> {
  const coordinates = new Set<string>();
  for (const definition of document.definitions) {
    if (
      !('name' in definition) ||
      !definition.name ||
      definition.kind === Kind.DIRECTIVE_DEFINITION
    )
      continue;
    const type = definition.name.value;
    coordinates.add(type);
    if ('fields' in definition)
      for (const field of definition.fields ?? []) {
        coordinates.add(`${type}.${field.name.value}`);
        if ('arguments' in field)
          for (const argument of field.arguments ?? [])
            coordinates.add(`${type}.${field.name.value}.${argument.name.value}`);
      }
    if ('values' in definition)
      for (const value of definition.values ?? []) coordinates.add(`${type}.${value.name.value}`);
  }
  return coordinates;
}

/** What the served schema holds beyond `ours`: the coordinates the rules are told to skip. */
function notOurs(schema: GraphQLSchema, ours: Set<string>): string[] {
  const skipped: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (!ours.has(type.name)) {
      skipped.push(type.name);
      continue;
    }
    if (isObjectType(type) || isInputObjectType(type))
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`;
        if (!ours.has(coordinate)) skipped.push(coordinate);
        else if ('args' in field)
          for (const argument of field.args)
            if (!ours.has(`${coordinate}.${argument.name}`))
              skipped.push(`${coordinate}.${argument.name}`);
      }
    if (isEnumType(type))
      for (const value of type.getValues())
        if (!ours.has(`${type.name}.${value.name}`)) skipped.push(`${type.name}.${value.name}`);
  }
  return skipped;
}

/**
 * The description rules' complaints about `schema` (printed to SDL, as the linter reads text),
 * leaving out everything `ours` (the SDL the schema was built from) does not define.
 */
function undocumented(schema: GraphQLSchema, ours: DocumentNode): string[] {
  const definition = printSchema(schema);
  const linted = { definition, sourceMap: new sourceMap.SourceMap({ 'built schema': definition }) };
  const skipped = notOurs(schema, coordinatesOf(ours));
  const configuration = new Configuration(linted, {
    rules: DESCRIPTION_RULES,
    ignore: Object.fromEntries(DESCRIPTION_RULES.map((rule) => [rule, skipped])),
  });
  expect(configuration.validate()).toEqual([]);
  // A misspelt rule name would be dropped silently: all five must be the ones that run.
  expect(configuration.getRules()).toHaveLength(DESCRIPTION_RULES.length);
  return validateSchemaDefinition(linted, configuration.getRules(), configuration).map(
    (error) => `${error.ruleName ?? 'invalid-graphql-schema'}: ${error.message}`,
  );
}

describe('the schema as documentation', () => {
  it('documents every type, field, argument, enum value and input value of ours', () => {
    expect(undocumented(buildSchema(), typeDefs)).toEqual([]);
  });

  it('names each element of ours left without a description, and nothing of federation', () => {
    // The rules must bite: the same schema with four descriptions removed fails on exactly those.
    const stripped = visit(typeDefs, {
      ObjectTypeDefinition(node) {
        if (node.name.value === 'Query')
          return {
            ...node,
            description: undefined,
            fields: node.fields?.map((field) =>
              field.name.value === 'channel'
                ? {
                    ...field,
                    arguments: field.arguments?.map((argument) => ({
                      ...argument,
                      description: undefined,
                    })),
                  }
                : field,
            ),
          };
        if (node.name.value === 'DayTotal')
          return {
            ...node,
            fields: node.fields?.map((field) =>
              field.name.value === 'count' ? { ...field, description: undefined } : field,
            ),
          };
        return undefined;
      },
      EnumValueDefinition(node) {
        return node.name.value === 'GIFT' ? { ...node, description: undefined } : undefined;
      },
    });
    expect(undocumented(buildSubgraphSchema([{ typeDefs: stripped }]), stripped).sort()).toEqual(
      [
        'arguments-have-descriptions: The `id` argument of `channel` is missing a description.',
        'enum-values-have-descriptions: The enum value `PayType.GIFT` is missing a description.',
        'fields-have-descriptions: The field `DayTotal.count` is missing a description.',
        'types-have-descriptions: The object type `Query` is missing a description.',
      ].sort(),
    );
  });

  it('documents our own directives and their arguments (the linter reads only fields)', () => {
    const missing: string[] = [];
    for (const definition of typeDefs.definitions) {
      if (definition.kind !== Kind.DIRECTIVE_DEFINITION) continue;
      const directive = `@${definition.name.value}`;
      if (!definition.description?.value) missing.push(directive);
      for (const argument of definition.arguments ?? [])
        if (!argument.description?.value) missing.push(`${directive}(${argument.name.value}:)`);
    }
    expect(missing).toEqual([]);
  });

  it('links each custom scalar to the spec its strings follow (@specifiedBy)', () => {
    const schema = buildSchema();
    const specifiedBy = Object.fromEntries(
      ['DateTime', 'Date', 'Decimal'].map((name) => {
        const type = schema.getType(name);
        return [name, isScalarType(type) ? type.specifiedByURL : `${name} is not a scalar`];
      }),
    );
    expect(specifiedBy).toEqual({
      // RFC 3339's date-time: an instant with its offset, as DateTime serializes and requires.
      DateTime: 'https://datatracker.ietf.org/doc/html/rfc3339',
      // RFC 3339's full-date (ISO 8601's calendar date, yyyy-MM-dd).
      Date: 'https://datatracker.ietf.org/doc/html/rfc3339#section-5.6',
      // XML Schema's decimal: an exact decimal in plain digits, no exponent (ours is a subset).
      Decimal: 'https://www.w3.org/TR/xmlschema11-2/#decimal',
    });
  });
});
