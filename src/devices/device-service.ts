import type { DeviceStatusChange } from '../domain/anomalies/anomaly';
import { TelemetryError } from '../domain/errors';
import { DEVICE_ID_PATTERN } from '../domain/validation';
import type { KeyService } from '../keys/key-service';
import type { Device } from '../domain/device';
import type { DeviceStore } from '../store/ports/device-store';
import type { DeviceDirectory } from './device-directory';

/** Tags one device may carry. */
const MAX_TAGS = 32;
/** A tag: 1-64 letters, digits, spaces or _.:-/ */
const TAG_PATTERN = /^[\p{L}\p{N}_.:\-/ ]{1,64}$/u;
/** Longest display name, in characters. */
const MAX_NAME_LENGTH = 200;
/** Longest heartbeat timeout a device may have: 30 days. */
const MAX_HEARTBEAT_SECONDS = 30 * 86_400;

export interface DeviceInput {
  /** 1-128 characters of [A-Za-z0-9._:-], starting with a letter or digit; unique in the tenant. */
  readonly id: string;
  /** Display name; the id when absent. */
  readonly name?: string | null | undefined;
  readonly tags?: readonly string[] | null | undefined;
  /** Silence after which the device goes OFFLINE; the service default when absent. */
  readonly heartbeatTimeoutSeconds?: number | null | undefined;
}

export interface DeviceServiceOptions {
  readonly store: DeviceStore;
  /** Learns the devices registered here, so the next ingest needs no lookup. */
  readonly directory: DeviceDirectory;
  /** Issues the key a device gets at registration. */
  readonly keys: Pick<KeyService, 'issueDeviceKey'>;
  /** Told the status changes made here (decommissioning), once stored. */
  readonly publishStatus: (changes: DeviceStatusChange[]) => void;
}

/** A heartbeat timeout in ms from seconds (null when absent: the service default applies). */
function heartbeatMs(seconds: number | null | undefined): number | null {
  if (seconds === null || seconds === undefined) return null;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_HEARTBEAT_SECONDS) {
    throw new TelemetryError('BAD_USER_INPUT', `heartbeatTimeoutSeconds must be from 1 to ${MAX_HEARTBEAT_SECONDS}`, {
      details: { field: 'heartbeatTimeoutSeconds' },
    });
  }
  return seconds * 1000;
}

/** Registers and manages a tenant's devices under the rules above. */
export class DeviceService {
  constructor(private readonly options: DeviceServiceOptions) {}

  /** Fails with NOT_FOUND naming every id that is not a device of the tenant. */
  require(tenantId: string, deviceIds: readonly string[]): Promise<void> {
    return this.options.directory.require(tenantId, deviceIds);
  }

  /** Registers a device with its own key; the key's secret is returned this once. ALREADY_EXISTS if the id is taken. */
  async register(tenantId: string, input: DeviceInput): Promise<{ device: Device; deviceKey: string }> {
    if (!DEVICE_ID_PATTERN.test(input.id)) {
      throw new TelemetryError('BAD_USER_INPUT', 'id must be 1-128 characters of [A-Za-z0-9._:-], starting with a letter or digit', {
        details: { field: 'id' },
      });
    }
    const name = input.name ?? input.id;
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new TelemetryError('BAD_USER_INPUT', `name must be 1-${MAX_NAME_LENGTH} characters`, { details: { field: 'name' } });
    }
    const tags = [...new Set(input.tags ?? [])];
    if (tags.length > MAX_TAGS || tags.some((tag) => !TAG_PATTERN.test(tag))) {
      throw new TelemetryError('BAD_USER_INPUT', `at most ${MAX_TAGS} tags of 1-64 letters, digits, spaces or _.:-/`, { details: { field: 'tags' } });
    }
    const heartbeatTimeoutMs = heartbeatMs(input.heartbeatTimeoutSeconds);
    const device = await this.options.store.registerDevice(tenantId, { id: input.id, name, tags, heartbeatTimeoutMs });
    this.options.directory.remember(tenantId, device.id);
    const { secret } = await this.options.keys.issueDeviceKey(tenantId, device.id);
    return { device, deviceKey: secret };
  }

  /** Sets the silence after which the device goes OFFLINE; null restores the service default. */
  async setHeartbeatTimeout(tenantId: string, deviceId: string, seconds: number | null): Promise<Device> {
    const device = await this.options.store.setHeartbeatTimeout(tenantId, deviceId, heartbeatMs(seconds));
    if (!device) throw new TelemetryError('NOT_FOUND', `no device "${deviceId}"`);
    return device;
  }

  /** Marks a device DECOMMISSIONED (no longer checked for silence; its data stays) and publishes the change. */
  async decommission(tenantId: string, deviceId: string): Promise<Device> {
    const change = await this.options.store.decommissionDevice(tenantId, deviceId, Date.now());
    if (!change) throw new TelemetryError('NOT_FOUND', `no device "${deviceId}"`);
    if (change.previousStatus !== change.status) this.options.publishStatus([change]);
    const [device] = await this.options.store.getDevices(tenantId, [deviceId]);
    return device!;
  }
}
