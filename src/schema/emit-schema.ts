import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildTelemetrySchema } from './build-schema';

/** Where the emitted SDL lives (committed; codegen and clients read it). */
export const SCHEMA_FILE = 'src/schema/schema.graphql';

/** The schema as SDL, sorted so that the file only changes when the API does. */
export function printTelemetrySchema(): string {
  return `${printSchema(lexicographicSortSchema(buildTelemetrySchema()))}\n`;
}
