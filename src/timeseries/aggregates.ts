export * from '../queries/aggregates';
