export * from '../queries/series';
