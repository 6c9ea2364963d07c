import type { IncomingHttpHeaders } from 'node:http';
import { TelemetryError } from '../domain/errors';
import type { Rejection } from '../domain/validation';

/**
 * The CloudEvents 1.0 HTTP protocol binding, as POST /ingest reads it: which content mode a
 * request uses (§3), and the context attributes of binary mode from `ce-*` headers (§3.1.3).
 */

/** How a POST /ingest request carries its readings. */
export type ContentMode =
  /** `application/cloudevents+json`: the body is one event (HTTP binding §3.2). */
  | 'structured'
  /** `application/cloudevents-batch+json`: the body is a JSON array of events (§3.3). */
  | 'batch'
  /** `ce-*` headers hold the attributes, Content-Type is the data's type, the body is the data (§3.1). */
  | 'binary'
  /** `application/json` without `ce-*` headers: one item or an array, CloudEvents or plain readings (this API's own form). */
  | 'plain';

export const STRUCTURED_MEDIA_TYPE = 'application/cloudevents+json';
export const BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';
const PLAIN_MEDIA_TYPE = 'application/json';
/** Header prefix of binary-mode attributes (HTTP binding §3.1.3). */
const ATTRIBUTE_HEADER_PREFIX = 'ce-';
/** Labels of UTF-8 (WHATWG Encoding): JSON exchanged between systems is UTF-8 (RFC 8259 §8.1). */
const UTF8_LABELS = new Set(['utf-8', 'utf8']);

export interface ContentType {
  /** Media type without parameters, lower case ('' when the header is absent). */
  readonly mediaType: string;
  /** The `charset` parameter, lower case and unquoted, when given. */
  readonly charset: string | undefined;
  /** The header as sent (binary mode passes it on as the event's datacontenttype). */
  readonly raw: string;
}

export function parseContentType(header: string | undefined): ContentType {
  const raw = header ?? '';
  const parts = raw.split(';');
  let charset: string | undefined;
  for (let i = 1; i < parts.length; i++) {
    const parameter = parts[i]!;
    const equals = parameter.indexOf('=');
    if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue;
    charset = parameter
      .slice(equals + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return { mediaType: parts[0]!.trim().toLowerCase(), charset, raw };
}

/**
 * The content mode of a request, or the 415 error that refuses it as a whole: a charset other
 * than UTF-8 (the body could not be read as sent), or a media type that is none of the modes.
 * A binary-mode request whose Content-Type is not JSON is not refused here: its one event is
 * rejected with UNSUPPORTED_DATA_CONTENT_TYPE, like a structured event's datacontenttype.
 */
export function contentMode(contentType: ContentType, headers: IncomingHttpHeaders): ContentMode {
  if (contentType.charset !== undefined && !UTF8_LABELS.has(contentType.charset)) {
    throw unsupportedMediaType(`the body must be UTF-8 (charset=utf-8 or no charset); got charset=${contentType.charset}`);
  }
  if (contentType.mediaType === STRUCTURED_MEDIA_TYPE) return 'structured';
  if (contentType.mediaType === BATCH_MEDIA_TYPE) return 'batch';
  if (hasAttributeHeader(headers)) return 'binary';
  if (contentType.mediaType === PLAIN_MEDIA_TYPE) return 'plain';
  throw unsupportedMediaType(
    `Content-Type must be one of ${PLAIN_MEDIA_TYPE}, ${STRUCTURED_MEDIA_TYPE}, ${BATCH_MEDIA_TYPE}, or JSON data with ce-* headers (binary mode)`,
  );
}

const unsupportedMediaType = (message: string) => new TelemetryError('BAD_USER_INPUT', message, { details: { status: 415 } });

function hasAttributeHeader(headers: IncomingHttpHeaders): boolean {
  for (const name in headers) if (name.startsWith(ATTRIBUTE_HEADER_PREFIX)) return true;
  return false;
}

/** The binary-mode attributes of a request, or why they cannot be read. */
export type BinaryAttributes = { readonly ok: true; readonly attributes: Record<string, string> } | ({ readonly ok: false } & Rejection);

/** How messages name binary-mode attributes: by the header that carries them. */
export const binaryAttributeName = (attribute: string): string => (attribute === 'datacontenttype' ? 'Content-Type' : `${ATTRIBUTE_HEADER_PREFIX}${attribute}`);

/**
 * Context attributes from `ce-<name>` headers (names are case-insensitive; Node lower-cases
 * them), percent-decoded as UTF-8 (§3.1.3.2). The Content-Type is the `datacontenttype`
 * (§3.1.1), so a `ce-datacontenttype` header is refused, as the binding forbids it.
 */
export function binaryAttributes(headers: IncomingHttpHeaders, contentType: ContentType): BinaryAttributes {
  const attributes: Record<string, string> = {};
  for (const name in headers) {
    if (!name.startsWith(ATTRIBUTE_HEADER_PREFIX)) continue;
    const attribute = name.slice(ATTRIBUTE_HEADER_PREFIX.length);
    if (attribute === 'datacontenttype') {
      return { ok: false, code: 'INVALID_ATTRIBUTE', message: 'binary mode carries datacontenttype as Content-Type; ce-datacontenttype must not be sent' };
    }
    const value = headers[name];
    const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
    try {
      attributes[attribute] = text.includes('%') ? decodeURIComponent(text) : text;
    } catch {
      return { ok: false, code: 'INVALID_ATTRIBUTE', message: `${name} is not valid percent-encoded UTF-8` };
    }
  }
  attributes['datacontenttype'] = contentType.raw;
  return { ok: true, attributes };
}
