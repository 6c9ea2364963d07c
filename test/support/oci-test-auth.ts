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
  writeFileSync(configFile, `[DEFAULT]\nuser=${user}\nfingerprint=${fingerprint}\ntenancy=${tenancy}\nregion=eu-frankfurt-1\nkey_file=${keyFile}\n`, {
    mode: 0o600,
  });
  return { tenancy, user, fingerprint, privateKeyPem, publicKeyPem, keyId: `${tenancy}/${user}/${fingerprint}`, configFile };
}

/** A resource-principal session as the OCI platform hands it to a workload (RPST v2.2). */
export interface ResourcePrincipalSession {
  /** The session token (a JWT); the stand-in accepts it when told so. */
  readonly token: string;
  readonly publicKeyPem: string;
  /** The OCI_RESOURCE_PRINCIPAL_* variables the platform would set. */
  readonly environment: Record<string, string>;
}

export function createResourcePrincipalSession(): ResourcePrincipalSession {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  // Unsigned as far as the stand-in cares: it knows the tokens it "issued". The SDK reads exp.
  const token = `${base64url({ alg: 'RS256', typ: 'JWT' })}.${base64url({ sub: 'ocid1.containerinstance.oc1..standin', res_tenant: 'ocid1.tenancy.oc1..standintenancy', exp: Math.floor(Date.now() / 1000) + 3600 })}.c2lnbmF0dXJl`;
  const dir = mkdtempSync(path.join(tmpdir(), 'oci-rp-'));
  const keyFile = path.join(dir, 'rp_session_key.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), { mode: 0o600 });
  return {
    token,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    environment: {
      OCI_RESOURCE_PRINCIPAL_VERSION: '2.2',
      OCI_RESOURCE_PRINCIPAL_RPST: token,
      OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: keyFile,
      OCI_RESOURCE_PRINCIPAL_REGION: 'eu-frankfurt-1',
    },
  };
}
