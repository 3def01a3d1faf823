/** Custom scalars: strict on the way in (clear errors), exact on the way out. */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { isCalendarDay, isoInstant } from '../domain/convert.js';
import { ErrorCode } from '../publicErrors.js';

/**
 * A value one of our scalars refuses. In a variable, graphql-js wraps it and Apollo answers
 * BAD_USER_INPUT; written in the query, graphql-js reports it as a validation error, which the
 * error formatter recognises by this class and answers BAD_USER_INPUT too: either way it is a
 * bad argument value, not a document that does not fit the schema.
 */
export class ScalarInputError extends GraphQLError {
  constructor(message: string, literal?: ValueNode) {
    super(message, {
      ...(literal ? { nodes: literal } : {}),
      extensions: { code: ErrorCode.BadUserInput },
    });
    this.name = 'ScalarInputError';
  }
}

const invalid = (message: string, literal?: ValueNode) => new ScalarInputError(message, literal);

const literalString = (ast: ValueNode, scalar: string): string => {
  if (ast.kind !== Kind.STRING) throw invalid(`${scalar} must be written as a string.`, ast);
  return ast.value;
};

/** ISO-8601 with a required offset: an instant, not a wall-clock time in some unknown zone. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown, literal?: ValueNode): Date {
  if (typeof value !== 'string' || !ISO_INSTANT.test(value)) {
    throw invalid(
      `DateTime must be an ISO-8601 string with an offset, e.g. 2026-10-01T00:00:00+08:00; got ${JSON.stringify(value)}.`,
      literal,
    );
  }
  const instant = new Date(value);
  if (Number.isNaN(instant.getTime()) || !isCalendarDay(value.slice(0, 10))) {
    throw invalid(`DateTime ${JSON.stringify(value)} is not a real instant.`, literal);
  }
  return instant;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    if (value instanceof Date && !Number.isNaN(value.getTime())) return isoInstant(value.getTime());
    throw new GraphQLError('DateTime cannot represent this value.');
  },
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(literalString(ast, 'DateTime'), ast),
});

function parseDay(value: unknown, literal?: ValueNode): string {
  if (typeof value !== 'string' || !isCalendarDay(value)) {
    throw invalid(
      `Date must be a real calendar day written yyyy-MM-dd; got ${JSON.stringify(value)}.`,
      literal,
    );
  }
  return value;
}

export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  serialize(value) {
    if (typeof value === 'string' && isCalendarDay(value)) return value;
    throw new GraphQLError('Date cannot represent this value.');
  },
  parseValue: parseDay,
  parseLiteral: (ast) => parseDay(literalString(ast, 'Date'), ast),
});

const DECIMAL = /^-?\d{1,15}(\.\d{1,15})?$/;

function parseDecimal(value: unknown, literal?: ValueNode): string {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw invalid(
      `Decimal must be a decimal number written as a string, e.g. "0.98"; got ${JSON.stringify(value)}.`,
      literal,
    );
  }
  return value;
}

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  serialize(value) {
    if (typeof value === 'string' && DECIMAL.test(value)) return value;
    throw new GraphQLError('Decimal cannot represent this value.');
  },
  parseValue: parseDecimal,
  parseLiteral: (ast) => parseDecimal(literalString(ast, 'Decimal'), ast),
});
