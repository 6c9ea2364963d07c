import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import type { Maybe } from 'graphql/jsutils/Maybe';
import { readTimestamp } from '../domain/timestamp';

/** Every DateTime input (readings' `timestamp`, queries' `from`/`to`) goes through the one domain parser. */
function parseDateTime(raw: unknown): number {
  const result = readTimestamp(raw);
  if (result.ok) return result.ms;
  throw invalid(result.reason);
}

const invalid = (reason: string) =>
  new GraphQLError(
    `DateTime must be an existing instant, as an RFC 3339 date-time with a zone (e.g. "2026-01-31T12:00:00Z") or epoch milliseconds: ${reason}`,
    {
      extensions: { code: 'BAD_USER_INPUT' },
    },
  );

/** UTC instant. Input: RFC 3339 text with a zone, or epoch milliseconds. Output: RFC 3339 text (ms precision). */
export const DateTimeScalar = new GraphQLScalarType<number, string>({
  name: 'DateTime',
  description: 'A UTC instant. Input: RFC 3339 date-time with a zone ("2026-01-31T12:00:00.000Z") or epoch milliseconds. Output: RFC 3339 in UTC.',
  serialize(value) {
    if (typeof value === 'number') return new Date(value).toISOString();
    if (value instanceof Date) return value.toISOString();
    throw new TypeError('DateTime cannot represent this value');
  },
  parseValue(value) {
    return parseDateTime(value);
  },
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING) return parseDateTime(ast.value);
    if (ast.kind === Kind.INT) return parseDateTime(Number(ast.value));
    throw invalid(`a ${ast.kind} literal is not a timestamp`);
  },
});

/** Any JSON value read from a literal (variables arrive parsed already). */
function jsonLiteral(ast: ValueNode, variables: Maybe<{ readonly [name: string]: unknown }>): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((value) => jsonLiteral(value, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((field) => [field.name.value, jsonLiteral(field.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw new GraphQLError(`JSON cannot represent a ${ast.kind} literal`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
}

/** A JSON value (device attributes): any JSON in, the stored JSON out. */
export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value: an object, array, string, number, boolean or null.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: jsonLiteral,
});
