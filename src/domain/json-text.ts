/**
 * JSON text written out directly, for the hot paths that serialise the same small shapes many
 * times a second (stream envelopes, stored event metrics): exactly what JSON.stringify gives,
 * without building the objects to stringify first.
 */

/** Printable ASCII except the quote and the backslash: a string of these is its own JSON text between quotes. */
const PLAIN_JSON_TEXT = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `JSON.stringify(text)`. */
export const jsonString = (text: string): string => (PLAIN_JSON_TEXT.test(text) ? `"${text}"` : JSON.stringify(text));

/** `JSON.stringify(value)`: non-finite numbers become null, as there. */
export const jsonNumber = (value: number): string => (Number.isFinite(value) ? `${value}` : 'null');
