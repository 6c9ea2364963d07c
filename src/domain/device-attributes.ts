import type { DeviceAttributes, JsonValue } from './device';

/** Attributes one device may carry. */
export const MAX_ATTRIBUTES = 32;
/** An attribute key: 1-64 letters, digits or _.:- (no spaces: keys are identifiers). */
export const ATTRIBUTE_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Longest attribute map, as JSON, in UTF-8 bytes: small enough for every backend's column. */
export const MAX_ATTRIBUTES_BYTES = 1024;

/** Why an attribute map is refused, or undefined when it is acceptable. */
export function attributesProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'attributes must be a JSON object (key -> JSON value)';
  const keys = Object.keys(value);
  if (keys.length > MAX_ATTRIBUTES) return `at most ${MAX_ATTRIBUTES} attributes`;
  const bad = keys.find((key) => !ATTRIBUTE_KEY_PATTERN.test(key));
  if (bad !== undefined) return `attribute key "${bad.slice(0, 80)}" must be 1-64 letters, digits or _.:-`;
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_ATTRIBUTES_BYTES) return `attributes must take at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON`;
  return undefined;
}

/** JSON text with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(canonicalJson).join(',')}]`;
  const object = value as { readonly [key: string]: JsonValue };
  return `{${Object.keys(object)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key]!)}`)
    .join(',')}}`;
}

/**
 * One entry of a device's attribute index: "key=<canonical JSON of the value>". A store keeps
 * the list beside the attributes, so "attribute equals" is a membership test like a tag's, the
 * same on every backend (no dynamic JSON paths).
 */
export const attributeEntry = (key: string, value: JsonValue): string => `${key}=${canonicalJson(value)}`;

/** The attribute index of a device, as stored. */
export const attributeIndex = (attributes: DeviceAttributes): string[] => Object.entries(attributes).map(([key, value]) => attributeEntry(key, value));
