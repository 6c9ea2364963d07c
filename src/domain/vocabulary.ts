/**
 * A closed vocabulary: a fixed list of string values, each with a one-sentence description.
 * It is declared once, here in the domain; its type is the union of its values, and the
 * GraphQL enum of the same name is generated from it (src/schema/enums.ts).
 */
export interface Vocabulary<V extends string> {
  /** The values, in the order they were declared. */
  readonly values: readonly V[];
  /** What each value means (shown per value in the GraphQL schema). */
  readonly descriptions: Readonly<Record<V, string>>;
}

/** The union of the values of a vocabulary. */
export type ValueOf<T extends Vocabulary<string>> = T['values'][number];

/**
 * Declares a vocabulary from its values and their descriptions, in order:
 * `defineVocabulary({ INFO: 'Worth knowing.', WARNING: '...' })`.
 */
export function defineVocabulary<V extends string>(descriptions: Record<V, string>): Vocabulary<V> {
  return Object.freeze({ values: Object.freeze(Object.keys(descriptions) as V[]), descriptions: Object.freeze({ ...descriptions }) });
}
