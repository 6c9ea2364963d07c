import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Who a stand-in of an OCI API accepts requests from. */
export interface OciSigners {
  /** The API key accepted: keyId "<tenancy>/<user>/<fingerprint>" and its public key. */
  readonly keyId: string;
  readonly publicKeyPem: string;
  /**
   * Resource-principal session tokens the stand-in "issued" (token -> public key of the
   * session key): requests signed with keyId "ST$<token>" and that key are accepted.
   */
  readonly sessionTokens?: ReadonlyMap<string, string>;
}

/**
 * Checks a request's OCI HTTP signature, as OCI's APIs do, for the stand-ins of OCI services
 * in tests: RSA-SHA256 over x-date, (request-target), host and, for a POST whose body is
 * signed, content-type, content-length and x-content-sha256 (which must match the body).
 * `bodySigned`: false for operations the SDK signs without their body (Streaming's PutMessages).
 */
export function ociSignatureChecker(signers: OciSigners): (request: IncomingMessage, body: Buffer, bodySigned?: boolean) => boolean {
  const publicKey: KeyObject = createPublicKey(signers.publicKeyPem);
  return (request, body, bodySigned = request.method === 'POST') => {
    const header = request.headers.authorization ?? '';
    const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!header.startsWith('Signature ') || params['version'] !== '1' || params['algorithm'] !== 'rsa-sha256') return false;
    const keyId = params['keyId'] ?? '';
    const sessionKey = keyId.startsWith('ST$') ? signers.sessionTokens?.get(keyId.slice(3)) : undefined;
    if (keyId !== signers.keyId && sessionKey === undefined) return false;
    const signerKey = sessionKey === undefined ? publicKey : createPublicKey(sessionKey);
    // The SDK lists some names capitalised (Content-Type); the signing string uses them lowercased.
    const signed = (params['headers'] ?? '').toLowerCase().split(' ');
    const required = ['x-date', '(request-target)', 'host', ...(bodySigned ? ['content-type', 'content-length', 'x-content-sha256'] : [])];
    if (!required.every((name) => signed.includes(name))) return false;
    if (signed.includes('x-content-sha256')) {
      if (request.headers['x-content-sha256'] !== createHash('sha256').update(body).digest('base64')) return false;
      if (Number(request.headers['content-length']) !== body.length) return false;
    }
    const signingString = signed
      .map((name) =>
        name === '(request-target)' ? `(request-target): ${request.method!.toLowerCase()} ${request.url}` : `${name}: ${String(request.headers[name] ?? '')}`,
      )
      .join('\n');
    return verify('RSA-SHA256', Buffer.from(signingString), signerKey, Buffer.from(params['signature'] ?? '', 'base64'));
  };
}
