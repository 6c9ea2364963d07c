import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../domain/caller';
import { TelemetryError } from '../domain/errors';
import { CSV_HEADER, EXPORT_FORMATS, MEDIA_TYPES, formatRow, parsePosition, type ExportFormat } from '../domain/export-format';
import { readTimestamp } from '../domain/timestamp';
import { DEVICE_ID_PATTERN, METRIC_NAME_PATTERN } from '../domain/validation';
import type { DeviceDirectory } from '../devices/device-directory';
import { exportPages } from '../queries/export-readings';
import { authorize } from '../resolvers/authorize';
import { writeDrained } from './drain';
import type { ReadingStore } from '../store/ports/reading-store';

/** Devices one export may name. */
export const MAX_EXPORT_DEVICES = 100;
/** Metrics one export may name. */
export const MAX_EXPORT_METRICS = 50;

export interface ExportRouteOptions {
  readonly store: Pick<ReadingStore, 'queryReadings' | 'latestReadings'>;
  readonly devices: Pick<DeviceDirectory, 'require'>;
  /** Rate limit: the error to refuse the call with, or undefined to admit it. */
  readonly admit: (caller: Caller) => TelemetryError | undefined;
  /** Values read per store call. */
  readonly pageSize?: number;
}

const badInput = (argument: string, message: string) => new TelemetryError('BAD_USER_INPUT', message, { details: { argument } });

/** A comma-separated list parameter, each item checked against `pattern`. */
function listParam(params: URLSearchParams, name: string, pattern: RegExp, max: number): string[] | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const items = [...new Set(raw.split(',').filter((item) => item !== ''))];
  if (items.length === 0 || items.length > max) throw badInput(name, `${name} takes 1-${max} comma-separated values`);
  const bad = items.find((item) => !pattern.test(item));
  if (bad !== undefined) throw badInput(name, `${name}: "${bad.slice(0, 130)}" is not valid`);
  return items.sort();
}

function timeParam(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const parsed = readTimestamp(/^-?\d+$/.test(raw) ? Number(raw) : raw);
  if (!parsed.ok) throw badInput(name, `${name} must be an RFC 3339 date-time with a zone or epoch milliseconds: ${parsed.reason}`);
  return parsed.ms;
}

/**
 * GET /export: the stored readings of some devices of the caller's tenant (reader or admin
 * key) as CSV or NDJSON, streamed page by page: a page is read only once the client took the
 * previous one (the socket drained), so memory stays one page for any range. Rows are ordered
 * by device id, metric and timestamp; `after=<deviceId>,<metric>,<timestamp>` (the last row
 * received) resumes right after it. The `x-export-rows` trailer counts the rows sent; a
 * response cut before its end has no trailer (resume from the last whole row).
 */
export function createExportHandler(options: ExportRouteOptions) {
  return async (request: IncomingMessage, response: ServerResponse, caller: Caller, search: string): Promise<void> => {
    if (request.method !== 'GET') {
      response.setHeader('allow', 'GET');
      throw new TelemetryError('BAD_USER_INPUT', 'use GET', { details: { status: 405 } });
    }
    authorize(caller, 'read');
    const refused = options.admit(caller);
    if (refused) throw refused;
    const params = new URLSearchParams(search);
    const deviceIds = listParam(params, 'devices', DEVICE_ID_PATTERN, MAX_EXPORT_DEVICES);
    if (!deviceIds) throw badInput('devices', `name the devices to export: devices=<id>,<id> (1-${MAX_EXPORT_DEVICES})`);
    const metrics = listParam(params, 'metric', METRIC_NAME_PATTERN, MAX_EXPORT_METRICS);
    const from = timeParam(params, 'from');
    const to = timeParam(params, 'to');
    if (from !== undefined && to !== undefined && from >= to) throw badInput('to', 'to must be after from');
    const format = (params.get('format') ?? 'ndjson') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw badInput('format', `format is one of ${EXPORT_FORMATS.join(', ')}`);
    const afterText = params.get('after');
    const after = afterText === null ? undefined : parsePosition(afterText);
    if (afterText !== null && (!after || !deviceIds.includes(after.deviceId))) {
      throw badInput('after', 'after is the last row received, as <deviceId>,<metric>,<timestamp>, of a device this export names');
    }
    await options.devices.require(caller.tenantId, deviceIds);

    const pages = exportPages(options.store, { tenantId: caller.tenantId, deviceIds, metrics, from, to, after, pageSize: options.pageSize });
    // The first page is read before the headers go: a store failure is still a plain error answer.
    let next = await pages.next();
    response.writeHead(200, { 'content-type': MEDIA_TYPES[format], 'cache-control': 'no-store', trailer: 'x-export-rows' });
    if (format === 'csv') response.write(`${CSV_HEADER}\n`);
    let rows = 0;
    try {
      while (!next.done) {
        const text = next.value.map((point) => formatRow(format, point)).join('');
        rows += next.value.length;
        await writeDrained(response, text);
        if (response.destroyed) return;
        next = await pages.next();
      }
    } finally {
      await pages.return(undefined);
    }
    response.addTrailers({ 'x-export-rows': String(rows) });
    response.end();
  };
}
