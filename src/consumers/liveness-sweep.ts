import type { Logger } from '../logger';
import type { DeviceStore } from '../store/ports/device-store';
import type { DetectionEvents } from './batch-applier';

export interface LivenessSettings {
  readonly defaultHeartbeatTimeoutMs: number;
  readonly checkIntervalMs: number;
}

/**
 * Every interval, online devices silent past their heartbeat timeout go offline (with a
 * SILENCE anomaly), in one transaction; what changed is published after the commit.
 */
export class LivenessSweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: DeviceStore,
    private readonly settings: LivenessSettings,
    private readonly publish: (events: DetectionEvents) => void,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, this.settings.checkIntervalMs);
    this.timer.unref();
  }

  async sweep(): Promise<void> {
    try {
      const result = await this.store.markSilentDevices(this.now(), this.settings.defaultHeartbeatTimeoutMs);
      if (result.statusChanges.length > 0) this.publish(result);
    } catch (error) {
      // A busy or failing database: the next sweep tries again; no state was changed.
      this.logger.warn({ err: error }, 'liveness sweep failed');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
