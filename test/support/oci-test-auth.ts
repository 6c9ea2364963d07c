import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A throwaway OCI API signing key, as `oci setup keys` makes one, and a config file using it. */
export interface OciTestIdentity {
  readonly tenancy: string;
  readonly user: string;
  readonly fingerprint: string;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  readonly keyId: string;
  /** An ~/.oci/config-style file with a [DEFAULT] profile for this identity. */
  readonly configFile: string;
}

export function createOciTestIdentity(): OciTestIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const der = createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' });
  const fingerprint = createHash('md5').update(der).digest('hex').match(/../g)!.join(':');
  const tenancy = 'ocid1.tenancy.oc1..standintenancy';
  const user = 'ocid1.user.oc1..standinuser';
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-identity-'));
  const keyFile = path.join(dir, 'oci_api_key.pem');
  writeFileSync(keyFile, privateKeyPem, { mode: 0o600 });
  const configFile = path.join(dir, 'config');
  writeFileSync(configFile, `[DEFAULT]\nuser=${user}\nfingerprint=${fingerprint}\ntenancy=${tenancy}\nregion=eu-frankfurt-1\nkey_file=${keyFile}\n`, { mode: 0o600 });
  return { tenancy, user, fingerprint, privateKeyPem, publicKeyPem, keyId: `${tenancy}/${user}/${fingerprint}`, configFile };
}
