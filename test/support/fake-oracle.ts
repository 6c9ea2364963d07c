import { placeholders, type BindDef, type ExecuteResult, type ManyResult, type Session } from '../../src/store/oracle/session';
import type { SessionSource } from '../../src/store/oracle/oracle-store';

/**
 * A checking stand-in for an Oracle connection. No offline Oracle SQL checker exists on npm,
 * so the driver boundary carries the weight: every statement's bind names must equal its
 * placeholders (no more, no fewer), no bind may be an Oracle reserved word, every value must
 * be of a type the driver binds (and, with executeMany, of its declared type and size), and
 * no statement may end with a semicolon (ORA-00911) but a PL/SQL block, which must. Answers come from `respond`.
 */

/** Oracle reserved words (V$RESERVED_WORDS, reserved = 'Y'): invalid as bind names (ORA-01745). */
const RESERVED = new Set(
  'access add all alter and any as asc audit between by char check cluster column comment compress connect create current date decimal default delete desc distinct drop else exclusive exists file float for from grant group having identified immediate in increment index initial insert integer intersect into is level like lock long maxextents minus mlslabel mode modify noaudit nocompress not nowait null number of offline on online option or order pctfree prior privileges public raw rename resource revoke row rowid rownum rows select session set share size smallint start successful synonym sysdate table then to trigger uid union unique update user validate values varchar varchar2 view whenever where with'.split(
    ' ',
  ),
);

export interface Call {
  readonly kind: 'execute' | 'executeMany';
  readonly sql: string;
  readonly binds: readonly Readonly<Record<string, unknown>>[];
  /** Asked to be fetched in large batches (ExecuteOptions.bulk). */
  readonly bulk?: boolean;
}

export type Responder = (call: Call) => ExecuteResult<any> | ManyResult | undefined;

function checkStatement(sql: string, names: readonly string[]): void {
  // A PL/SQL block is the opposite: it must end with "END;" (without it, PLS-00103).
  const plsql = /^\s*(DECLARE|BEGIN)\b/i.test(sql);
  if (plsql && !/\bEND;\s*$/i.test(sql)) throw new Error(`PL/SQL block does not end with "END;" (PLS-00103): ${sql.slice(0, 80)}`);
  if (!plsql && /;\s*$/.test(sql)) throw new Error(`statement ends with a semicolon (ORA-00911): ${sql.slice(0, 80)}`);
  if (/\$\{/.test(sql)) throw new Error(`statement holds an unexpanded template: ${sql.slice(0, 80)}`);
  const expected = placeholders(sql);
  const given = new Set(names.map((name) => name.toLowerCase()));
  const missing = [...expected].filter((name) => !given.has(name));
  const extra = [...given].filter((name) => !expected.has(name));
  if (missing.length > 0 || extra.length > 0)
    throw new Error(`binds do not match placeholders (missing ${missing.join(', ') || '-'}; extra ${extra.join(', ') || '-'}): ${sql.slice(0, 120)}`);
  const reserved = [...expected].filter((name) => RESERVED.has(name));
  if (reserved.length > 0) throw new Error(`bind names that are reserved words (ORA-01745): ${reserved.join(', ')}`);
}

function checkValue(name: string, value: unknown, def?: BindDef): void {
  if (value === null || value === undefined) {
    if (value === undefined) throw new Error(`bind ${name} is undefined (the driver refuses it; use null)`);
    return;
  }
  if (typeof value === 'object') {
    const out = value as { dir?: unknown; type?: unknown };
    if (out.dir === 'out' && ['number', 'string'].includes(String(out.type))) return;
    throw new Error(`bind ${name} is an object the driver cannot bind: ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`bind ${name} is ${value}`);
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`bind ${name} has type ${typeof value}`);
  if (!def) return;
  const ok = def.type === 'number' || def.type === 'double' ? typeof value === 'number' : typeof value === 'string';
  if (!ok) throw new Error(`bind ${name} is ${typeof value}, declared ${def.type}`);
  if (def.type === 'number' && !Number.isInteger(value)) throw new Error(`bind ${name} is ${value}, declared an integer NUMBER`);
  if (def.type === 'string' && def.maxSize !== undefined && Buffer.byteLength(value as string) > def.maxSize)
    throw new Error(`bind ${name} is longer than ${def.maxSize} bytes`);
}

export class CheckingSource implements SessionSource {
  readonly calls: Call[] = [];
  commits = 0;
  rollbacks = 0;

  constructor(private readonly respond: Responder = () => undefined) {}

  private readonly session: Session = {
    execute: async (sql, binds = {}, options) => {
      checkStatement(sql, Object.keys(binds));
      for (const [name, value] of Object.entries(binds)) checkValue(name, value);
      const call: Call = { kind: 'execute', sql, binds: [binds], bulk: options?.bulk === true };
      this.calls.push(call);
      return (this.respond(call) as ExecuteResult<any> | undefined) ?? { rows: [], rowsAffected: 1 };
    },
    executeMany: async (sql, rows, options) => {
      checkStatement(sql, Object.keys(options.bindDefs));
      if (rows.length === 0) throw new Error(`executeMany with no rows: ${sql.slice(0, 80)}`);
      for (const row of rows) {
        const names = Object.keys(row).sort().join(',');
        if (names !== Object.keys(options.bindDefs).sort().join(',')) throw new Error(`a row's binds (${names}) differ from bindDefs`);
        for (const [name, value] of Object.entries(row)) checkValue(name, value, options.bindDefs[name]);
      }
      const call: Call = { kind: 'executeMany', sql, binds: rows };
      this.calls.push(call);
      return (this.respond(call) as ManyResult | undefined) ?? { rowsAffected: rows.length };
    },
  };

  async transaction<T>(work: (session: Session) => Promise<T>): Promise<T> {
    try {
      const result = await work(this.session);
      this.commits++;
      return result;
    } catch (error) {
      this.rollbacks++;
      throw error;
    }
  }

  async close(): Promise<void> {}
}
