import type { DeviceStatusChange } from '../domain/anomalies/anomaly';
import { TelemetryError } from '../domain/errors';
import { DEVICE_ID_PATTERN } from '../domain/validation';
import type { KeyService } from '../keys/key-service';
import { isDataRemovalPending, type Device, type DeviceAttributes, type DevicePatch } from '../domain/device';
import { attributesProblem } from '../domain/device-attributes';
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
  /** Free-form key -> JSON value (domain/device-attributes.ts limits); none when absent. */
  readonly attributes?: unknown;
}

/** What updateDevice changes: each field absent (undefined) is left as it is. */
export interface DeviceUpdate {
  readonly name?: string | null | undefined;
  readonly tags?: readonly string[] | null | undefined;
  /** null: back to the service default. */
  readonly heartbeatTimeoutSeconds?: number | null | undefined;
  /** Replaces the whole map ({} removes every attribute). */
  readonly attributes?: unknown;
}

/** One item of a bulk registration: the device and its key, or why it was refused. */
export type BulkRegistration =
  { readonly index: number; readonly device: Device; readonly deviceKey: string } | { readonly index: number; readonly error: TelemetryError };

/** Devices one registerDevices call may register. */
export const MAX_BULK_REGISTRATION = 100;

export interface DeviceServiceOptions {
  readonly store: DeviceStore;
  /** Learns the devices registered here, so the next ingest needs no lookup. */
  readonly directory: DeviceDirectory;
  /** Issues the key a device gets at registration. */
  readonly keys: Pick<KeyService, 'issueDeviceKey'>;
  /** Told the status changes made here (decommissioning), once stored. */
  readonly publishStatus: (changes: DeviceStatusChange[]) => void;
  /**
   * Told a device deleted here, once stored, with the device keys revoked with it: their
   * connections close and the device's subscriptions end.
   */
  readonly onDeleted?: (tenantId: string, deviceId: string, revokedKeyIds: readonly string[]) => void;
}

/** What a subscription to a deleted device ends with. */
export const deviceDeleted = (deviceId: string): TelemetryError =>
  new TelemetryError('NOT_FOUND', `device "${deviceId}" was deleted`, { details: { reason: 'DEVICE_DELETED' } });

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

function checkName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new TelemetryError('BAD_USER_INPUT', `name must be 1-${MAX_NAME_LENGTH} characters`, { details: { field: 'name' } });
  }
  return name;
}

function checkTags(input: readonly string[]): string[] {
  const tags = [...new Set(input)];
  if (tags.length > MAX_TAGS || tags.some((tag) => !TAG_PATTERN.test(tag))) {
    throw new TelemetryError('BAD_USER_INPUT', `at most ${MAX_TAGS} tags of 1-64 letters, digits, spaces or _.:-/`, { details: { field: 'tags' } });
  }
  return tags;
}

function checkAttributes(value: unknown): DeviceAttributes {
  const problem = attributesProblem(value);
  if (problem) throw new TelemetryError('BAD_USER_INPUT', problem, { details: { field: 'attributes' } });
  return value as DeviceAttributes;
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
    const name = checkName(input.name ?? input.id);
    const tags = checkTags(input.tags ?? []);
    const heartbeatTimeoutMs = heartbeatMs(input.heartbeatTimeoutSeconds);
    const attributes = input.attributes === undefined || input.attributes === null ? {} : checkAttributes(input.attributes);
    const device = await this.options.store.registerDevice(tenantId, { id: input.id, name, tags, heartbeatTimeoutMs, attributes });
    this.options.directory.remember(tenantId, device.id);
    const { secret } = await this.options.keys.issueDeviceKey(tenantId, device.id);
    return { device, deviceKey: secret };
  }

  /**
   * Registers each device under the rules of `register`, independently: one refused (bad input,
   * id taken, id whose deleted device's data is still being removed) does not stop the others.
   * Answers per item, in input order.
   */
  async registerMany(tenantId: string, inputs: readonly DeviceInput[]): Promise<BulkRegistration[]> {
    if (inputs.length === 0 || inputs.length > MAX_BULK_REGISTRATION) {
      throw new TelemetryError('BAD_USER_INPUT', `registerDevices takes 1-${MAX_BULK_REGISTRATION} devices`, { details: { field: 'inputs' } });
    }
    const results: BulkRegistration[] = [];
    for (const [index, input] of inputs.entries()) {
      try {
        results.push({ index, ...(await this.register(tenantId, input)) });
      } catch (error) {
        // Only refusals are per item; a store that fails fails the call (nothing is half-said).
        if (!(error instanceof TelemetryError) || !(['BAD_USER_INPUT', 'ALREADY_EXISTS'].includes(error.code) || isDataRemovalPending(error))) throw error;
        results.push({ index, error });
      }
    }
    return results;
  }

  /** Changes the fields given; NOT_FOUND when the device is not one of the tenant's. */
  async update(tenantId: string, deviceId: string, input: DeviceUpdate): Promise<Device> {
    const patch: { -readonly [K in keyof DevicePatch]: DevicePatch[K] } = {};
    if (input.name !== undefined && input.name !== null) patch.name = checkName(input.name);
    if (input.tags !== undefined && input.tags !== null) patch.tags = checkTags(input.tags);
    if (input.heartbeatTimeoutSeconds !== undefined) patch.heartbeatTimeoutMs = heartbeatMs(input.heartbeatTimeoutSeconds);
    if (input.attributes !== undefined && input.attributes !== null) patch.attributes = checkAttributes(input.attributes);
    const device = await this.options.store.updateDevice(tenantId, deviceId, patch);
    if (!device) throw new TelemetryError('NOT_FOUND', `no device "${deviceId}"`);
    return device;
  }

  /**
   * Deletes a device: it leaves the directory at once, its keys are revoked, its subscriptions
   * end, and readings of it still in the stream become dead letters (DEVICE_DELETED). Its
   * data goes too unless `keepData` (then registering the id again brings it back into view).
   */
  async delete(tenantId: string, deviceId: string, keepData: boolean): Promise<{ removingData: boolean }> {
    const deletion = await this.options.store.deleteDevice(tenantId, deviceId, keepData, Date.now());
    if (!deletion) throw new TelemetryError('NOT_FOUND', `no device "${deviceId}"`);
    this.options.directory.forget(tenantId, deviceId);
    this.options.onDeleted?.(tenantId, deviceId, deletion.revokedKeyIds);
    return { removingData: deletion.removingData };
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
