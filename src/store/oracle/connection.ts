import oracledb from 'oracledb';
import { BULK_FETCH_ROWS, type BindDef, type ExecuteOptions, type ExecuteResult, type ManyResult, type Session } from './session';
import type { OracleConnectionOptions } from '../../config';

/** How to reach the database (Autonomous Database: a TNS alias from the wallet, or a full descriptor). */
export type { OracleConnectionOptions };

const TYPES: Readonly<Record<BindDef['type'], number>> = {
  string: oracledb.DB_TYPE_VARCHAR as unknown as number,
  number: oracledb.DB_TYPE_NUMBER as unknown as number,
  double: oracledb.DB_TYPE_BINARY_DOUBLE as unknown as number,
  clob: oracledb.DB_TYPE_CLOB as unknown as number,
};

/** Translates the driver-neutral out-bind descriptors the statement modules use. */
function driverBinds(binds: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(binds ?? {})) {
    const descriptor = value as { dir?: unknown; type?: BindDef['type']; maxSize?: number } | null;
    result[name] =
      descriptor && typeof descriptor === 'object' && descriptor.dir === 'out'
        ? { dir: oracledb.BIND_OUT, type: TYPES[descriptor.type ?? 'number'], ...(descriptor.maxSize ? { maxSize: descriptor.maxSize } : {}) }
        : value;
  }
  return result;
}

/** The Session the statement modules use, over one oracledb connection (no autocommit). */
export function sessionOf(connection: oracledb.Connection): Session {
  return {
    async execute<T>(sql: string, binds?: Readonly<Record<string, unknown>>, options?: ExecuteOptions): Promise<ExecuteResult<T>> {
      const result = await connection.execute<T>(sql, driverBinds(binds) as oracledb.BindParameters, {
        outFormat: oracledb.OUT_FORMAT_OBJECT,
        autoCommit: false,
        ...(options?.maxRows === undefined ? {} : { maxRows: options.maxRows }),
        ...(options?.bulk ? { fetchArraySize: BULK_FETCH_ROWS, prefetchRows: BULK_FETCH_ROWS } : {}),
      });
      return { rows: result.rows, rowsAffected: result.rowsAffected, outBinds: result.outBinds as ExecuteResult<T>['outBinds'] };
    },
    async executeMany(
      sql: string,
      rows: readonly Readonly<Record<string, unknown>>[],
      options: { bindDefs: Readonly<Record<string, BindDef>>; batchErrors?: boolean },
    ): Promise<ManyResult> {
      const bindDefs = Object.fromEntries(
        Object.entries(options.bindDefs).map(([name, def]) => [name, { type: TYPES[def.type], ...(def.maxSize ? { maxSize: def.maxSize } : {}) }]),
      );
      const result = await connection.executeMany(sql, rows as oracledb.BindParameters[], {
        autoCommit: false,
        batchErrors: options.batchErrors ?? false,
        bindDefs: bindDefs,
      });
      return { rowsAffected: result.rowsAffected, batchErrors: result.batchErrors as ManyResult['batchErrors'] };
    },
  };
}

export async function createPool(options: OracleConnectionOptions): Promise<oracledb.Pool> {
  // CLOBs (JSON columns) come back as strings; numbers as JavaScript numbers.
  oracledb.fetchAsString = [oracledb.CLOB];
  return oracledb.createPool({
    user: options.user,
    password: options.password,
    connectString: options.connectString,
    ...(options.configDir ? { configDir: options.configDir } : {}),
    ...(options.walletLocation ? { walletLocation: options.walletLocation, walletPassword: options.walletPassword } : {}),
    poolMin: options.poolMin ?? 1,
    poolMax: options.poolMax ?? 8,
    poolIncrement: 1,
    queueTimeout: options.queueTimeoutMs ?? 10_000,
    // Dead connections (a failover, an idle timeout at a load balancer) are detected before use.
    poolPingInterval: 30,
  });
}
