import { readDateTime } from './timestamp';
import { isUri, isUriReference } from './uri-reference';
import type { Rejection } from './validation';

/**
 * The CloudEvents 1.0 rules for an event a client sends (core specification §3, JSON event
 * format §3), whatever carried it: a structured-mode JSON object, an item of a batch, or the
 * `ce-*` headers of binary mode (see src/ingest/http-binding.ts). Judged here: the context
 * attributes and whether `data` is JSON. Not judged: the reading inside `data`, which the
 * shared validation rules check like any other reading.
 */

/** The context attributes of an accepted event. */
export interface ContextAttributes {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | undefined;
  /** `time`, as UTC milliseconds, when given. */
  readonly time: number | undefined;
}

export type AttributesResult = { readonly ok: true; readonly attributes: ContextAttributes } | ({ readonly ok: false } & Rejection);

/** How messages name an attribute: `id` in a structured event, the `ce-id` header in binary mode. */
export type AttributeNamer = (attribute: string) => string;

/** The only version of the specification this service speaks. */
export const SPEC_VERSION = '1.0';

/** A media type without parameters that declares JSON: `*\/json` or `*\/*+json` (JSON event format §3.1). */
const JSON_MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/(?:json|[a-z0-9!#$&^_.+-]+\+json)$/i;

/** True when a media type (parameters allowed) declares JSON data: `application/json`, `text/json`, `application/vnd.acme+json`. */
export function isJsonMediaType(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  return JSON_MEDIA_TYPE.test((semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim());
}

const fail = (code: Rejection['code'], message: string): AttributesResult => ({ ok: false, code, message });

/**
 * Checks the context attributes of one event against the specification and against the one
 * event type this service accepts. JSON null counts as absent (JSON event format §2.4). The
 * first broken rule is reported, in the order: specversion, id, source, type, data content
 * type, dataschema, subject, time.
 */
export function checkContextAttributes(
  event: Readonly<Record<string, unknown>>,
  acceptedType: string,
  name: AttributeNamer = (attribute) => attribute,
): AttributesResult {
  const specversion = event['specversion'];
  if (specversion === undefined || specversion === null) return fail('MISSING_ATTRIBUTE', `${name('specversion')} is required (CloudEvents ${SPEC_VERSION})`);
  if (specversion !== SPEC_VERSION) return fail('INVALID_ENVELOPE', `${name('specversion')} must be "${SPEC_VERSION}"; got ${JSON.stringify(specversion)}`);

  const id = event['id'];
  if (id === undefined || id === null) return fail('MISSING_ATTRIBUTE', `${name('id')} is required`);
  if (typeof id !== 'string' || id.length === 0) return fail('INVALID_ATTRIBUTE', `${name('id')} must be a non-empty string`);

  const source = event['source'];
  if (source === undefined || source === null) return fail('MISSING_ATTRIBUTE', `${name('source')} is required`);
  if (typeof source !== 'string' || source.length === 0 || !isUriReference(source)) {
    return fail('INVALID_ATTRIBUTE', `${name('source')} must be a non-empty URI-reference (RFC 3986), e.g. "/devices/boiler-1"`);
  }

  const type = event['type'];
  if (type === undefined || type === null) return fail('MISSING_ATTRIBUTE', `${name('type')} is required`);
  if (typeof type !== 'string' || type.length === 0) return fail('INVALID_ATTRIBUTE', `${name('type')} must be a non-empty string`);
  if (type !== acceptedType) return fail('UNSUPPORTED_EVENT_TYPE', `${name('type')} must be "${acceptedType}"; got ${JSON.stringify(type)}`);

  const datacontenttype = event['datacontenttype'];
  if (datacontenttype !== undefined && datacontenttype !== null) {
    if (typeof datacontenttype !== 'string') return fail('INVALID_ATTRIBUTE', `${name('datacontenttype')} must be a string`);
    if (!isJsonMediaType(datacontenttype)) {
      return fail(
        'UNSUPPORTED_DATA_CONTENT_TYPE',
        `${name('datacontenttype')} must declare JSON (application/json or a +json type); got ${JSON.stringify(datacontenttype)}`,
      );
    }
  }
  if (event['data_base64'] !== undefined && event['data_base64'] !== null) {
    return fail('UNSUPPORTED_DATA_CONTENT_TYPE', 'data_base64 carries binary data; send the reading as JSON in data');
  }

  const dataschema = event['dataschema'];
  if (dataschema !== undefined && dataschema !== null && (typeof dataschema !== 'string' || !isUri(dataschema))) {
    return fail('INVALID_ATTRIBUTE', `${name('dataschema')} must be an absolute URI (RFC 3986)`);
  }

  const subject = event['subject'];
  if (subject !== undefined && subject !== null && (typeof subject !== 'string' || subject.length === 0)) {
    return fail('INVALID_ATTRIBUTE', `${name('subject')} must be a non-empty string`);
  }

  const rawTime = event['time'];
  let time: number | undefined;
  if (rawTime !== undefined && rawTime !== null) {
    if (typeof rawTime !== 'string') return fail('INVALID_TIMESTAMP', `${name('time')} must be an RFC 3339 date-time string`);
    const parsed = readDateTime(rawTime);
    if (!parsed.ok) return fail('INVALID_TIMESTAMP', `${name('time')}: ${parsed.reason}`);
    time = parsed.ms;
  }

  return { ok: true, attributes: { id, source, type, subject: typeof subject === 'string' ? subject : undefined, time } };
}
