import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { parseTimestamp } from '../domain/validation';

const invalid = (value: unknown) =>
  new GraphQLError(`DateTime must be an RFC 3339 date-time with a zone (e.g. "2026-01-31T12:00:00Z") or epoch milliseconds; got ${JSON.stringify(value)}`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });

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
    const ms = parseTimestamp(value);
    if (Number.isNaN(ms)) throw invalid(value);
    return ms;
  },
  parseLiteral(ast) {
    const raw = ast.kind === Kind.STRING ? ast.value : ast.kind === Kind.INT ? Number(ast.value) : undefined;
    const ms = parseTimestamp(raw);
    if (Number.isNaN(ms)) throw invalid(ast.kind === Kind.STRING || ast.kind === Kind.INT ? ast.value : ast.kind);
    return ms;
  },
});
