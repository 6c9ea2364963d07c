import { readFileSync } from 'node:fs';
import type { Config, ConfigVariable } from '../config';
import { parseTopicPattern } from '../domain/topic-pattern';
import type { IngestService } from '../ingest/ingest-service';
import type { Logger } from '../logger';
import { MqttBridge, type BridgeObserver } from '../mqtt-bridge/mqtt-bridge';
import { StartupError } from '../startup-error';

/**
 * The bridge to an existing MQTT broker, when TELEMETRY_MQTT_BRIDGE_URL is set (API roles only:
 * it ingests, like POST /ingest). Built before anything starts, so that an unreadable PEM file
 * stops start-up early; its `start()` only begins connecting: a broker that is down is retried
 * with backoff, and the API serves meanwhile.
 */
export function createMqttBridge(config: Config, ingest: IngestService, observer: BridgeObserver, logger: Logger): MqttBridge | undefined {
  const settings = config.mqttBridge;
  if (!settings) return undefined;
  return new MqttBridge({
    url: settings.url,
    username: settings.username,
    password: settings.password,
    tls: {
      ca: readPem(settings.caFile, 'TELEMETRY_MQTT_BRIDGE_CA_FILE'),
      cert: readPem(settings.certFile, 'TELEMETRY_MQTT_BRIDGE_CERT_FILE'),
      key: readPem(settings.keyFile, 'TELEMETRY_MQTT_BRIDGE_KEY_FILE'),
    },
    pattern: parseTopicPattern(settings.topic),
    shareGroup: settings.shareGroup,
    tenantId: settings.tenantId,
    clientId: settings.clientId,
    ingest,
    maxPayloadBytes: config.limits.maxBodyBytes,
    logger,
    observer,
  });
}

/** A PEM file's contents; a file that cannot be read stops start-up naming its variable. */
function readPem(file: string | undefined, variable: ConfigVariable): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (error) {
    throw new StartupError(`${variable}=${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, [variable], error);
  }
}
