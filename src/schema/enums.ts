import { registerEnumType } from 'type-graphql';
import { ANOMALY_KINDS, ANOMALY_STATUSES, DEVICE_STATUSES, SEVERITIES } from '../domain/anomalies/anomaly';
import { ROLES } from '../domain/caller';
import { SORT_ORDERS } from '../domain/reading';
import { BUCKET_SOURCES, GAP_FILLS } from '../domain/timeseries/aggregate-buckets';
import { AGGREGATE_PLANS, SERIES_SOURCES } from '../domain/timeseries/plans';
import { REJECTION_CODES } from '../domain/validation';
import type { Vocabulary } from '../domain/vocabulary';
import { CHANNEL_KINDS, DELIVERY_STATUSES } from '../domain/webhooks';
import { RETENTION_KINDS } from '../domain/retention';
import { COMMAND_STATUSES } from '../domain/command';

/**
 * The GraphQL enums, each generated from a domain vocabulary. A GraphQL value is named by its
 * domain value in capitals and stands for the domain value itself, so arguments arrive and
 * fields are returned as domain values (the domain's `device` role is the API's `DEVICE`).
 */
function graphqlEnum<V extends string>(vocabulary: Vocabulary<V>, name: string, description?: string): Readonly<Record<string, V>> {
  const enumObject: Record<string, V> = {};
  const valuesConfig: Record<string, { description: string }> = {};
  for (const value of vocabulary.values) {
    const graphqlName = value.toUpperCase();
    if (graphqlName in enumObject) throw new Error(`enum ${name}: two values are named ${graphqlName}`);
    enumObject[graphqlName] = value;
    valuesConfig[graphqlName] = { description: vocabulary.descriptions[value] };
  }
  registerEnumType(enumObject, { name, ...(description === undefined ? {} : { description }), valuesConfig });
  return Object.freeze(enumObject);
}

export const AnomalyKindEnum = graphqlEnum(ANOMALY_KINDS, 'AnomalyKind');
export const SeverityEnum = graphqlEnum(SEVERITIES, 'Severity', 'How much an anomaly matters, lowest first.');
export const AnomalyStatusEnum = graphqlEnum(ANOMALY_STATUSES, 'AnomalyStatus', 'Lifecycle: OPEN -> ACKNOWLEDGED -> RESOLVED (or OPEN -> RESOLVED).');
export const DeviceStatusEnum = graphqlEnum(DEVICE_STATUSES, 'DeviceStatus');
export const KeyRoleEnum = graphqlEnum(ROLES, 'KeyRole');
export const DeliveryStatusEnum = graphqlEnum(DELIVERY_STATUSES, 'DeliveryStatus', 'How the delivery of one anomaly to one webhook stands.');
export const ChannelKindEnum = graphqlEnum(CHANNEL_KINDS, 'ChannelKind', 'What a notification channel delivers to.');
export const RejectionCodeEnum = graphqlEnum(
  REJECTION_CODES,
  'RejectionCode',
  'Why one reading of an ingest call was rejected (docs/PROTOCOL.md lists each rule).',
);
export const SortOrderEnum = graphqlEnum(SORT_ORDERS, 'SortOrder', 'Order of a time-ordered list.');
export const GapFillEnum = graphqlEnum(GAP_FILLS, 'GapFill', 'What to do with buckets that hold no readings.');
export const AggregatePlanEnum = graphqlEnum(AGGREGATE_PLANS, 'AggregatePlan');
export const BucketSourceEnum = graphqlEnum(BUCKET_SOURCES, 'BucketSource', 'Where the numbers of a bucket came from.');
export const SeriesSourceEnum = graphqlEnum(SERIES_SOURCES, 'SeriesSource', 'Where the points of a series were chosen from.');
export const RetentionKindEnum = graphqlEnum(RETENTION_KINDS, 'RetentionKind', 'What retention removes, each kind on its own clock.');
export const CommandStatusEnum = graphqlEnum(
  COMMAND_STATUSES,
  'CommandStatus',
  'Lifecycle of a command to a device: PENDING -> DELIVERED -> SUCCEEDED | FAILED, or EXPIRED from PENDING or DELIVERED.',
);
