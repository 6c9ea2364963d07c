/**
 * The part of an oracledb connection the store uses. Statement modules take a Session, so
 * tests can hand them a checking fake instead of a database.
 */
export interface ExecuteResult<T> {
  readonly rows?: T[];
  readonly rowsAffected?: number;
  readonly outBinds?: Record<string, unknown[]> | Record<string, unknown>;
}

export interface ManyResult {
  readonly rowsAffected?: number;
  readonly batchErrors?: readonly { readonly errorNum?: number; readonly offset: number; readonly message: string }[];
  readonly outBinds?: Record<string, unknown[]>[];
}

/** A bind definition for executeMany (types must be given: a null in the first row says nothing). */
export interface BindDef {
  readonly type: 'string' | 'number' | 'double' | 'clob';
  readonly maxSize?: number;
  readonly dir?: 'in' | 'out';
}

export interface ExecuteOptions {
  readonly maxRows?: number;
  /**
   * A read of many rows (a series, rollup rows, raw values): fetched 1,000 rows per round trip
   * instead of the driver's 100, which matters over the network to Autonomous Database.
   */
  readonly bulk?: boolean;
}

/** Rows per round trip of a bulk read. */
export const BULK_FETCH_ROWS = 1000;

export interface Session {
  execute<T = Record<string, unknown>>(sql: string, binds?: Readonly<Record<string, unknown>>, options?: ExecuteOptions): Promise<ExecuteResult<T>>;
  executeMany(
    sql: string,
    rows: readonly Readonly<Record<string, unknown>>[],
    options: { readonly bindDefs: Readonly<Record<string, BindDef>>; readonly batchErrors?: boolean },
  ): Promise<ManyResult>;
}

/** Every `:name` placeholder of a statement, outside string literals and comments. */
export function placeholders(sql: string): Set<string> {
  const stripped = sql
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/--[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '');
  return new Set([...stripped.matchAll(/(?<![:\w]):([A-Za-z_]\w*)/g)].map((match) => match[1]!.toLowerCase()));
}
