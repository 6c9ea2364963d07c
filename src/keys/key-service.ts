import type { Role } from '../domain/caller';
import { TelemetryError } from '../domain/errors';
import type { DeviceDirectory } from '../devices/device-directory';
import type { ApiKeyInfo } from '../domain/api-key';
import type { TenantKeyStore } from '../store/ports/tenant-key-store';
import { keyInfo, newApiKey } from './api-keys';

/** Longest key label, in characters. */
const MAX_LABEL_LENGTH = 100;

/** A key just made: its record and its secret, shown this once (only the hash is stored). */
export interface CreatedKey {
  readonly key: ApiKeyInfo;
  readonly secret: string;
}

export interface KeyInput {
  readonly role: Role;
  /** 1-100 characters once trimmed. */
  readonly label: string;
  /** The device of a `device` key; absent for `reader` and `admin` keys. */
  readonly deviceId?: string | null | undefined;
}

/** Told the ids of keys revoked here: authentication forgets them, their connections close. */
export type RevocationListener = (keyIds: readonly string[]) => void;

/**
 * A tenant's API keys and their rules: a device key names an existing device and a device
 * has one key at a time; a tenant keeps at least one admin key. Secrets are random, shown
 * once and stored hashed (api-keys.ts).
 */
export class KeyService {
  private readonly listeners = new Set<RevocationListener>();

  constructor(
    private readonly store: TenantKeyStore,
    private readonly devices: Pick<DeviceDirectory, 'require'>,
  ) {}

  /** Listens to revocations made through this service; returns the unsubscribe function. */
  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keys of the tenant, oldest first. */
  list(tenantId: string, includeRevoked: boolean): Promise<ApiKeyInfo[]> {
    return this.store.listApiKeys(tenantId, includeRevoked);
  }

  async create(tenantId: string, input: KeyInput): Promise<CreatedKey> {
    const label = input.label.trim();
    if (label.length === 0 || label.length > MAX_LABEL_LENGTH) {
      throw new TelemetryError('BAD_USER_INPUT', `label must be 1-${MAX_LABEL_LENGTH} characters`, { details: { field: 'label' } });
    }
    if ((input.role === 'device') !== Boolean(input.deviceId)) {
      throw new TelemetryError('BAD_USER_INPUT', 'a DEVICE key needs deviceId; READER and ADMIN keys take none', { details: { field: 'deviceId' } });
    }
    if (input.deviceId) await this.devices.require(tenantId, [input.deviceId]);
    const { secret, record } = newApiKey(tenantId, input.role, label, input.deviceId ?? null);
    const now = Date.now();
    await this.store.createApiKey(record);
    return { key: keyInfo(record, now), secret };
  }

  /** Revokes a key at once; refuses the tenant's last active admin key. */
  async revoke(tenantId: string, id: string): Promise<ApiKeyInfo> {
    // The store checks and revokes in one transaction: two admins revoking each other's keys
    // at the same moment cannot both succeed and leave the tenant without an admin.
    const revocation = await this.store.revokeApiKey(tenantId, id, Date.now());
    if (revocation.outcome === 'NOT_FOUND') throw new TelemetryError('NOT_FOUND', `no API key "${id}"`);
    if (revocation.outcome === 'LAST_ADMIN_KEY') {
      throw new TelemetryError('BAD_USER_INPUT', "this is the tenant's last admin key; create another admin key before revoking it");
    }
    this.revoked([id]);
    return revocation.key;
  }

  /**
   * Gives a device a new key, revoking the ones it had (registration and rotation). The
   * caller has checked that the device exists.
   */
  async issueDeviceKey(tenantId: string, deviceId: string): Promise<CreatedKey> {
    const { secret, record } = newApiKey(tenantId, 'device', `device ${deviceId}`, deviceId);
    const now = Date.now();
    this.revoked(await this.store.replaceDeviceKeys(tenantId, deviceId, record, now));
    return { key: keyInfo(record, now), secret };
  }

  /** Replaces the key of an existing device: the old one stops working at once. */
  async rotateDeviceKey(tenantId: string, deviceId: string): Promise<CreatedKey> {
    await this.devices.require(tenantId, [deviceId]);
    return this.issueDeviceKey(tenantId, deviceId);
  }

  /** Tells the listeners of keys revoked by another rule (their device was deleted). */
  announceRevoked(keyIds: readonly string[]): void {
    this.revoked(keyIds);
  }

  private revoked(keyIds: readonly string[]): void {
    if (keyIds.length === 0) return;
    for (const listener of this.listeners) listener(keyIds);
  }
}
