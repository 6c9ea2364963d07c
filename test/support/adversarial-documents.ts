/**
 * Documents built to make a GraphQL server work hard, for the tests of the document limits.
 * Each is small to send and would cost far more than its size to a naive server.
 */

/** `fragment F<i>` spreads `F<i+1>` twice: 3 * 2^n selections once expanded, 1.3 KB of text for n = 22. */
export function doublingFragments(n: number): string {
  let source = 'query { viewer { ...F0 } }\n';
  for (let i = 0; i < n; i++) source += `fragment F${i} on Viewer { ...F${i + 1} ...F${i + 1} }\n`;
  return `${source}fragment F${n} on Viewer { keyId }\n`;
}

/** A chain of `n` fragments, each spreading the next once. */
export function fragmentChain(n: number): string {
  let source = 'query { viewer { ...F0 } }\n';
  for (let i = 0; i < n; i++) source += `fragment F${i} on Viewer { ...F${i + 1} }\n`;
  return `${source}fragment F${n} on Viewer { keyId }\n`;
}

/** `viewer` nested `n` times. */
export const deepNesting = (n: number): string => `{ ${'viewer { '.repeat(n)}keyId${' }'.repeat(n)} }`;

/** `n` distinct aliases of one field. */
export const manyAliases = (n: number): string => `{ viewer { ${Array.from({ length: n }, (_, i) => `a${i}: keyId`).join(' ')} } }`;

/** One field carrying `n` directives. */
export const manyDirectives = (n: number): string => `{ viewer { keyId${' @a'.repeat(n)} } }`;

/** `n` tokens: one field selected `n - 6` times. */
export const manyTokens = (n: number): string => `{ viewer { ${'keyId '.repeat(n - 6)}} }`;

/** `n` copies of the same nested selection, which graphql-js's overlap rule compares pairwise. */
export const repeatedFields = (n: number): string => `{ ${'devices { edges { node { id } } } '.repeat(n)}}`;

/** `n` distinct fragments, all spread in one selection set. */
export function manyFragments(n: number): string {
  const names = Array.from({ length: n }, (_, i) => `F${i}`);
  return `{ viewer { ${names.map((name) => `...${name}`).join(' ')} } }\n${names.map((name) => `fragment ${name} on Viewer { keyId }`).join('\n')}`;
}

/** Two fragments spreading each other. */
export const fragmentCycle = 'query { viewer { ...A } } fragment A on Viewer { keyId ...B } fragment B on Viewer { ...A }';
