import type { Api } from '../api';

export interface Session {
  readonly api: Api;
  readonly role: 'ADMIN' | 'READER' | 'DEVICE';
  readonly keyId: string;
}

/** A page of the console: it renders into its container and stops its subscriptions on dispose. */
export interface View {
  dispose(): void;
}
