/**
 * RFC 3986 syntax checks for the URI-typed CloudEvents attributes (`source` is a
 * URI-reference, `dataschema` a URI). Syntax only: nothing is resolved or fetched. The
 * expressions follow the ABNF of RFC 3986 §3 and §4.1 rule by rule.
 */

const UNRESERVED = 'A-Za-z0-9\\-._~';
const SUB_DELIMS = "!$&'()*+,;=";
const PCT_ENCODED = '%[0-9A-Fa-f]{2}';
/** pchar = unreserved / pct-encoded / sub-delims / ":" / "@" */
const PCHAR = `(?:[${UNRESERVED}${SUB_DELIMS}:@]|${PCT_ENCODED})`;
/** segment-nz-nc: a first path segment of a relative reference, which may not hold ":". */
const PCHAR_NO_COLON = `(?:[${UNRESERVED}${SUB_DELIMS}@]|${PCT_ENCODED})`;
const SEGMENT = `${PCHAR}*`;
const SCHEME = '[A-Za-z][A-Za-z0-9+.\\-]*';
const USERINFO = `(?:[${UNRESERVED}${SUB_DELIMS}:]|${PCT_ENCODED})*`;
/** IP-literal (IPv6 address or IPvFuture, syntax loosely), IPv4address and reg-name alike. */
const HOST = `(?:\\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\\.[${UNRESERVED}${SUB_DELIMS}:]+)\\]|(?:[${UNRESERVED}${SUB_DELIMS}]|${PCT_ENCODED})*)`;
const AUTHORITY = `(?:${USERINFO}@)?${HOST}(?::[0-9]*)?`;
const QUERY_AND_FRAGMENT = `(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?`;
/** hier-part: "//" authority path-abempty / path-absolute / path-rootless / path-empty */
const HIER_PART = `(?://${AUTHORITY}(?:/${SEGMENT})*|(?!//)(?:/?${PCHAR}+(?:/${SEGMENT})*|/)?)`;
/** relative-part: like hier-part, but a path's first segment may not hold ":" (path-noscheme). */
const RELATIVE_PART = `(?://${AUTHORITY}(?:/${SEGMENT})*|(?!//)(?:/${PCHAR}+(?:/${SEGMENT})*|/|${PCHAR_NO_COLON}+(?:/${SEGMENT})*)?)`;

const URI = new RegExp(`^${SCHEME}:${HIER_PART}${QUERY_AND_FRAGMENT}$`);
const RELATIVE_REF = new RegExp(`^${RELATIVE_PART}${QUERY_AND_FRAGMENT}$`);

/** RFC 3986 URI (absolute, with a scheme; a fragment is allowed). */
export function isUri(text: string): boolean {
  return URI.test(text);
}

/** RFC 3986 URI-reference: a URI or a relative reference (`/devices/boiler-1`). The empty string is one. */
export function isUriReference(text: string): boolean {
  return URI.test(text) || RELATIVE_REF.test(text);
}
