import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ociSignatureValid, type OciSigners } from './oci-signature';

/**
 * A local stand-in for the OCI Notifications data-plane API (version 20181201), for tests: the
 * real `oci-ons` client talks to it over HTTP. It implements PublishMessage
 * (POST /topics/{topicId}/messages) with its request and response shapes and the 64 KB message
 * limit, checks every request's signature like the Streaming stand-in (the body is signed),
 * answers 429 or 500 on demand, and keeps what was published, per topic.
 */
export interface PublishedMessage {
  readonly topicId: string;
  readonly title: string | undefined;
  readonly body: string;
  readonly messageId: string;
}

export interface NotificationsStandin {
  readonly endpoint: string;
  readonly published: readonly PublishedMessage[];
  /** Answers the next `count` PublishMessage requests with 429 Too Many Requests. */
  throttleNext(count: number): void;
  /** Answers the next `count` PublishMessage requests with 500 InternalServerError. */
  failNext(count: number): void;
  /** Requests refused for a bad signature. */
  readonly refusedSignatures: () => number;
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 64 * 1024;

export async function startNotificationsStandin(signers: OciSigners): Promise<NotificationsStandin> {
  const published: PublishedMessage[] = [];
  let throttle = 0;
  let failures = 0;
  let badSignatures = 0;
  const send = (response: ServerResponse, status: number, body: unknown) =>
    response.writeHead(status, { 'content-type': 'application/json', 'opc-request-id': `standin-${Date.now()}` }).end(JSON.stringify(body));
  const fail = (response: ServerResponse, status: number, code: string, message: string) => send(response, status, { code, message });

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const match = /^\/20181201\/topics\/([^/]+)\/messages$/.exec(new URL(request.url ?? '/', 'http://standin').pathname);
      if (!ociSignatureValid(signers, request, body)) {
        badSignatures++;
        fail(response, 401, 'NotAuthenticated', 'The required information to complete authentication was not provided or was incorrect.');
        return;
      }
      if (request.method !== 'POST' || !match) {
        fail(response, 404, 'NotAuthorizedOrNotFound', `no route ${request.method} ${request.url}`);
        return;
      }
      if (throttle > 0) {
        throttle--;
        fail(response, 429, 'TooManyRequests', 'Too many requests for the topic.');
        return;
      }
      if (failures > 0) {
        failures--;
        fail(response, 500, 'InternalServerError', 'The message could not be published.');
        return;
      }
      const details = JSON.parse(body.toString('utf8') || '{}') as { title?: unknown; body?: unknown };
      if (typeof details.body !== 'string' || (details.title !== undefined && typeof details.title !== 'string')) {
        fail(response, 400, 'InvalidParameter', 'body is required and must be a string; title must be a string');
        return;
      }
      if (Buffer.byteLength(details.body) + Buffer.byteLength(details.title ?? '') > MAX_MESSAGE_BYTES) {
        fail(response, 400, 'InvalidParameter', 'The message exceeds the 64 KB limit.');
        return;
      }
      const messageId = `standin-message-${published.length + 1}`;
      published.push({ topicId: decodeURIComponent(match[1]!), title: details.title, body: details.body, messageId });
      send(response, 202, { messageId, timeStamp: new Date().toISOString() });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    published,
    throttleNext: (count) => void (throttle = count),
    failNext: (count) => void (failures = count),
    refusedSignatures: () => badSignatures,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
