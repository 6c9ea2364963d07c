import { checkContextAttributes, isJsonMediaType } from '../../src/domain/cloud-event-input';
import { isUri, isUriReference } from '../../src/domain/uri-reference';
import { contentMode, parseContentType } from '../../src/ingest/http-binding';

describe('RFC 3986 syntax of URI-typed CloudEvents attributes', () => {
  it.each([
    '/devices/boiler-1',
    'https://example.com/fleet/boiler-1?site=3#x',
    'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
    'mailto:ops@example.com',
    '//gateway.local:8080/devices/a',
    '//[2001:db8::7]/devices/a',
    'devices/boiler-1',
    'boiler-1',
    '/gateways/g%201',
    '?only=query',
    '#only-fragment',
    '.',
  ])('%p is a URI-reference', (text) => {
    expect(isUriReference(text)).toBe(true);
  });

  it.each(['/devices/boiler 1', '/devices/%zz', 'a:b:c d', '1abc:/x', '//host/[x]', '/devices/é', 'a\\b', '/a#b#c', '"quoted"'])('%p is not', (text) => {
    expect(isUriReference(text)).toBe(false);
  });

  it('a dataschema must be absolute', () => {
    expect(isUri('https://schemas.example.com/reading.json')).toBe(true);
    expect(isUri('urn:example:reading')).toBe(true);
    expect(isUri('/schemas/reading.json')).toBe(false);
    expect(isUri('schemas/reading.json')).toBe(false);
  });
});

describe('JSON data content types (JSON event format §3.1)', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'text/json', 'application/vnd.acme.reading+json', 'APPLICATION/JSON'])(
    '%p is JSON',
    (type) => {
      expect(isJsonMediaType(type)).toBe(true);
    },
  );
  it.each(['application/xml', 'text/plain', 'application/jsonx', 'application/json+xml', 'json', '', 'application/octet-stream'])('%p is not', (type) => {
    expect(isJsonMediaType(type)).toBe(false);
  });
});

describe('context attributes', () => {
  const valid = { specversion: '1.0', id: 'e-1', source: '/devices/d-1', type: 'io.telemetry.reading.v1' };

  it('accepts the required attributes alone, and treats null as absent', () => {
    expect(checkContextAttributes(valid, 'io.telemetry.reading.v1')).toEqual({
      ok: true,
      attributes: { id: 'e-1', source: '/devices/d-1', type: 'io.telemetry.reading.v1', subject: undefined, time: undefined },
    });
    expect(checkContextAttributes({ ...valid, subject: null, time: null, datacontenttype: null }, 'io.telemetry.reading.v1').ok).toBe(true);
    expect(checkContextAttributes({ ...valid, id: null }, 'io.telemetry.reading.v1')).toMatchObject({ ok: false, code: 'MISSING_ATTRIBUTE' });
  });

  it('names attributes as the caller writes them (ce- headers in binary mode)', () => {
    const result = checkContextAttributes({ ...valid, id: undefined }, 'io.telemetry.reading.v1', (attribute) => `ce-${attribute}`);
    expect(result).toMatchObject({ ok: false, code: 'MISSING_ATTRIBUTE', message: 'ce-id is required' });
  });
});

describe('content modes of the HTTP binding', () => {
  const mode = (contentType: string | undefined, headers: Record<string, string> = {}) => contentMode(parseContentType(contentType), headers);

  it('tells structured, batch, binary and plain requests apart', () => {
    expect(mode('application/cloudevents+json; charset=UTF-8')).toBe('structured');
    expect(mode('Application/CloudEvents-Batch+JSON')).toBe('batch');
    expect(mode('application/json', { 'ce-id': 'x' })).toBe('binary');
    expect(mode('application/xml', { 'ce-specversion': '1.0' })).toBe('binary');
    expect(mode(undefined, { 'ce-id': 'x' })).toBe('binary');
    expect(mode('application/json')).toBe('plain');
  });

  it.each([['text/plain'], [undefined], ['application/json; charset=utf-16'], ['application/cloudevents+json; charset=latin1']])(
    'refuses %p with 415',
    (contentType) => {
      expect(() => mode(contentType)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', details: { status: 415 } }));
    },
  );
});
