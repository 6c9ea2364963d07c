import type { DeviceStore } from '../store/ports/device-store';
import type { DetectionEvents } from './batch-applier';

export interface LivenessSettings {
  readonly defaultHeartbeatTimeoutMs: number;
  readonly checkIntervalMs: number;
}

/**
 * One pass of the liveness job (run every `checkIntervalMs` by jobs/periodic-job.ts): online
 * devices silent past their heartbeat timeout go offline (with a SILENCE anomaly), in one
 * transaction; what changed is published after the commit.
 */
export class LivenessSweep {
  constructor(
    private readonly store: DeviceStore,
    private readonly settings: LivenessSettings,
    private readonly publish: (events: DetectionEvents) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes at most `limit` silent devices offline (all when undefined); resolves with whether
   * more may remain. A failure rejects and changes nothing (one transaction).
   */
  async run(limit?: number): Promise<boolean> {
    const result = await this.store.markSilentDevices(this.now(), this.settings.defaultHeartbeatTimeoutMs, limit);
    if (result.statusChanges.length > 0) this.publish(result);
    return limit !== undefined && result.statusChanges.length >= limit;
  }
}
