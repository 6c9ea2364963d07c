import type { MetricPoint } from './reading';
import { readTimestamp } from './timestamp';
import { utcText } from './utc-text';
import { DEVICE_ID_PATTERN, METRIC_NAME_PATTERN } from './validation';

/**
 * The bulk format of readings, shared by export and import: one row per stored value,
 * (deviceId, metric, timestamp, value), as CSV (header `deviceId,metric,timestamp,value`) or
 * NDJSON (`{"deviceId":…,"metric":…,"timestamp":…,"value":…}` per line). Timestamps are
 * RFC 3339 UTC text on the way out; epoch ms is accepted on the way in.
 */
export type ExportFormat = 'csv' | 'ndjson';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['csv', 'ndjson'];

export const CSV_HEADER = 'deviceId,metric,timestamp,value';

export const MEDIA_TYPES: Readonly<Record<ExportFormat, string>> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** One row as a line (with its newline). Device ids and metric names never need CSV quoting (their patterns). */
export function formatRow(format: ExportFormat, point: MetricPoint): string {
  const timestamp = utcText(point.timestamp);
  if (format === 'csv') return `${point.deviceId},${point.metric},${timestamp},${point.value}\n`;
  return `${JSON.stringify({ deviceId: point.deviceId, metric: point.metric, timestamp, value: point.value })}\n`;
}

/** A line read back: the row, or why it cannot be one. */
export type ParsedRow = { readonly ok: true; readonly row: MetricPoint; readonly eventId?: string } | { readonly ok: false; readonly reason: string };

/** Reads one line of `format` (not the CSV header, not an empty line). */
export function parseRow(format: ExportFormat, line: string): ParsedRow {
  let fields: { deviceId: unknown; metric: unknown; timestamp: unknown; value: unknown; eventId?: unknown };
  if (format === 'csv') {
    const parts = line.split(',');
    if (parts.length !== 4) return { ok: false, reason: `expected 4 comma-separated fields (${CSV_HEADER}), got ${parts.length}` };
    const value = parts[3]!.trim() === '' ? Number.NaN : Number(parts[3]);
    const timestamp = /^\d+$/.test(parts[2]!) ? Number(parts[2]) : parts[2];
    fields = { deviceId: parts[0], metric: parts[1], timestamp, value };
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { ok: false, reason: 'not JSON' };
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' };
    fields = parsed as typeof fields;
  }
  if (typeof fields.deviceId !== 'string' || !DEVICE_ID_PATTERN.test(fields.deviceId)) return { ok: false, reason: 'deviceId is missing or invalid' };
  if (typeof fields.metric !== 'string' || !METRIC_NAME_PATTERN.test(fields.metric)) return { ok: false, reason: 'metric is missing or invalid' };
  const timestamp = readTimestamp(fields.timestamp);
  if (!timestamp.ok) return { ok: false, reason: `timestamp: ${timestamp.reason}` };
  if (typeof fields.value !== 'number' || !Number.isFinite(fields.value)) return { ok: false, reason: 'value is missing or not a finite number' };
  if (fields.eventId !== undefined && typeof fields.eventId !== 'string') return { ok: false, reason: 'eventId must be a string' };
  const row = { deviceId: fields.deviceId, metric: fields.metric, timestamp: timestamp.ms, value: fields.value };
  // An NDJSON row may carry its event id (ingest checks it); else import derives one from the content.
  return fields.eventId === undefined ? { ok: true, row } : { ok: true, row, eventId: fields.eventId };
}

/** Where an export resumes: right after this row (in the export's order). */
export interface ExportPosition {
  readonly deviceId: string;
  readonly metric: string;
  readonly timestamp: number;
}

/**
 * The resume cursor is the last row received, as `deviceId,metric,timestamp` (a CSV row's
 * first three fields; timestamp as RFC 3339 or epoch ms). Undefined when it is not one.
 */
export function parsePosition(text: string): ExportPosition | undefined {
  const parts = text.split(',');
  if (parts.length !== 3) return undefined;
  const [deviceId, metric, raw] = parts as [string, string, string];
  const timestamp = readTimestamp(/^\d+$/.test(raw) ? Number(raw) : raw);
  if (!DEVICE_ID_PATTERN.test(deviceId) || !METRIC_NAME_PATTERN.test(metric) || !timestamp.ok) return undefined;
  return { deviceId, metric, timestamp: timestamp.ms };
}
