import type { NotificationMessage } from '../domain/anomalies/anomaly-notification';

/** How one publication to a notification topic went. */
export type PublishOutcome =
  | { readonly published: true; readonly statusCode: number; readonly messageId: string }
  | {
      readonly published: false;
      /** The HTTP status when the service answered; null when it could not be reached. */
      readonly statusCode: number | null;
      readonly error: string;
      /** Worth trying again later: throttled (429), the service failing (5xx), or unreachable. */
      readonly retryable: boolean;
    };

/** The port to a notification service's topics (OCI Notifications); never throws, says what happened. */
export interface NotificationPublisher {
  publish(topicId: string, message: NotificationMessage): Promise<PublishOutcome>;
}
