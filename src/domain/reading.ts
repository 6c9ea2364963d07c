import { defineVocabulary, type ValueOf } from './vocabulary';

/** One named numeric value of a reading, e.g. `temperature = 21.4`. */
export interface Metric {
  readonly name: string;
  readonly value: number;
}

/**
 * A reading as a device or client sends it, before validation. The timestamp is UTC
 * milliseconds, or NaN when the client sent something unparseable (reported per item).
 */
export interface ReadingInput {
  readonly deviceId: string;
  readonly timestamp: number;
  readonly metrics: readonly Metric[];
  readonly eventId?: string | null | undefined;
}

/** Order of a time-ordered list (readings of a metric). */
export const SORT_ORDERS = defineVocabulary({
  NEWEST_FIRST: 'Latest timestamp first.',
  OLDEST_FIRST: 'Earliest timestamp first.',
});
export type SortOrder = ValueOf<typeof SORT_ORDERS>;

/** A validated reading bound to a tenant and an event id: what travels through the stream. */
export interface Reading {
  readonly tenantId: string;
  readonly deviceId: string;
  readonly eventId: string;
  /** UTC milliseconds. */
  readonly timestamp: number;
  readonly metrics: readonly Metric[];
}

/** Where the stream stored a message: commit order is offset order within a partition. */
export interface StreamPosition {
  readonly partition: number;
  readonly offset: number;
}

/** A reading the consumer has committed to the database, ready to publish. */
export interface PersistedReading extends Reading, StreamPosition {}

/** One stored value, as queries return it. */
export interface MetricPoint {
  readonly deviceId: string;
  readonly metric: string;
  readonly timestamp: number;
  readonly value: number;
}
