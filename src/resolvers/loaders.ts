import DataLoader from 'dataloader';
import type { Caller } from '../domain/caller';
import type { MetricPoint } from '../domain/reading';
import type { ReadingStore } from '../store/ports/reading-store';
import type { Loaders } from './context';

/** Fresh per request (or per subscription event), so nothing is cached across callers. */
export function createLoaders(store: ReadingStore, caller: Caller): Loaders {
  return {
    latest: new DataLoader<string, MetricPoint[]>(async (deviceIds) => {
      const byDevice = await store.latestReadings(caller.tenantId, deviceIds);
      return deviceIds.map((id) => byDevice.get(id) ?? []);
    }),
  };
}
