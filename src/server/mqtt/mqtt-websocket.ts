import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { MqttBroker } from './mqtt-broker';

/** The WebSocket subprotocols MQTT clients offer (MQTT 3.1.1 and 5 say `mqtt`; old clients `mqttv3.1`). */
const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

/**
 * MQTT over WebSocket on the HTTP port at /mqtt (browsers, networks that pass only HTTPS): each
 * WebSocket becomes a byte stream the broker serves like a TCP connection.
 */
export function mqttOverWebSocket(broker: MqttBroker, maxFrameBytes: number) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    handleProtocols: (offered) => MQTT_SUBPROTOCOLS.find((protocol) => offered.has(protocol)) ?? false,
  });
  return {
    handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
      wss.handleUpgrade(request, socket, head, (webSocket) => broker.handle(createWebSocketStream(webSocket), request));
    },
    close(): Promise<void> {
      for (const client of wss.clients) client.terminate();
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
