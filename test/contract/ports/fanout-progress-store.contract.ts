import type { FanoutProgressStore } from '../../../src/store/ports/fanout-progress-store';
import type { PortHarness } from './fixtures';

export type FanoutProgressStoreHarness = PortHarness<FanoutProgressStore>;

/** The FanoutProgressStore contract: the events publisher's resume point, per stream position. */
export function describeFanoutProgressStoreContract(name: string, create: () => Promise<FanoutProgressStoreHarness>): void {
  describe(`FanoutProgressStore contract: ${name}`, () => {
    let harness: FanoutProgressStoreHarness;
    beforeEach(async () => {
      harness = await create();
    });
    afterEach(() => harness.close());

    it('records published positions and never moves one back (a late or repeated record keeps the furthest)', async () => {
      const store = harness.store;
      expect(await store.fanoutProgress()).toEqual(new Map());
      await store.recordFanoutProgress(
        new Map([
          ['readings:0', 5],
          ['anomalies', 3],
        ]),
      );
      await store.recordFanoutProgress(
        new Map([
          ['readings:0', 4],
          ['readings:1', 0],
        ]),
      );
      await store.recordFanoutProgress(new Map([['anomalies', 9]]));
      expect(await store.fanoutProgress()).toEqual(
        new Map([
          ['readings:0', 5],
          ['readings:1', 0],
          ['anomalies', 9],
        ]),
      );
    });
  });
}
