import * as common from 'oci-common';
import { NotificationDataPlaneClient } from 'oci-ons';
import type { NotificationMessage } from '../../domain/anomalies/anomaly-notification';
import type { NotificationPublisher, PublishOutcome } from '../notification-publisher';

export interface OnsPublisherOptions {
  /** The Notifications endpoint of the topics' region, e.g. https://notification.eu-frankfurt-1.oci.oraclecloud.com */
  readonly endpoint: string;
  /** The same identity as the stream's (oci-auth.ts). */
  readonly auth: common.AuthenticationDetailsProvider;
}

/**
 * NotificationPublisher on OCI Notifications through the official SDK (oci-ons PublishMessage,
 * RAW_TEXT). The SDK's own retries are off: the caller's outbox retries with backoff and jitter,
 * so a throttled topic (429: 60 messages per minute per topic) is answered by backing off
 * rather than by a burst of immediate retries.
 */
export class OnsPublisher implements NotificationPublisher {
  private readonly client: NotificationDataPlaneClient;

  constructor(options: OnsPublisherOptions) {
    this.client = new NotificationDataPlaneClient({ authenticationDetailsProvider: options.auth }, { retryConfiguration: common.NoRetryConfigurationDetails });
    this.client.endpoint = options.endpoint;
  }

  async publish(topicId: string, message: NotificationMessage): Promise<PublishOutcome> {
    try {
      const response = await this.client.publishMessage({ topicId, messageDetails: { title: message.title, body: message.body } });
      return { published: true, statusCode: 202, messageId: response.publishResult.messageId };
    } catch (error) {
      const status = (error as { statusCode?: unknown }).statusCode;
      const statusCode = typeof status === 'number' && status > 0 ? status : null;
      const serviceCode = (error as { serviceCode?: unknown }).serviceCode;
      const text = error instanceof Error ? error.message : String(error);
      return {
        published: false,
        statusCode,
        error: statusCode === null ? `unreachable: ${text}` : `HTTP ${statusCode}${typeof serviceCode === 'string' ? ` ${serviceCode}` : ''}: ${text}`,
        retryable: statusCode === null || statusCode === 429 || statusCode >= 500,
      };
    }
  }
}
