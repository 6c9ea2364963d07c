/** How far the events topic has been fed (split deployments: the publisher's resume point). */
export interface FanoutProgressStore {
  /** Published positions: 'readings:<partition>' -> offset, 'anomalies' -> seq. */
  fanoutProgress(): Promise<Map<string, number>>;
  recordFanoutProgress(positions: ReadonlyMap<string, number>): Promise<void>;
}
