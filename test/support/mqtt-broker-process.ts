import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

/**
 * An aedes MQTT broker in a process of its own (aedes is an ES module, which jest's CommonJS
 * runtime cannot load; a process also lets a test kill the broker and start it again). Argv:
 * the port (0: any). Env: BROKER_USERNAME and BROKER_PASSWORD, when set, are the only
 * credentials accepted; BROKER_TLS_CERT and BROKER_TLS_KEY, when set, make it listen for TLS
 * (mqtts) with that certificate. It reports to its parent over IPC: `listening` with its port, then
 * the broker's events that tests wait for (subscriptions, acknowledgements, connections).
 */
export type BrokerEvent =
  | { readonly event: 'listening'; readonly port: number }
  | { readonly event: 'subscribe'; readonly clientId: string; readonly topics: string[] }
  | { readonly event: 'ack'; readonly clientId: string; readonly topic: string | undefined; readonly payload: string | undefined }
  | { readonly event: 'client'; readonly clientId: string }
  | { readonly event: 'clientDisconnect'; readonly clientId: string }
  | { readonly event: 'refused'; readonly username: string | undefined };

const report = (message: BrokerEvent) => process.send?.(message);

async function main(): Promise<void> {
  const { Aedes } = await import('aedes');
  const username = process.env['BROKER_USERNAME'];
  const password = process.env['BROKER_PASSWORD'];
  const broker = await Aedes.createBroker({
    authenticate: (_client, user, pass, callback) => {
      const ok = username === undefined || (user === username && pass?.toString() === password);
      if (!ok) report({ event: 'refused', username: user });
      callback(null, ok);
    },
  });
  broker.on('subscribe', (subscriptions, client) => report({ event: 'subscribe', clientId: client.id, topics: subscriptions.map((s) => s.topic) }));
  broker.on('ack', (packet, client) => {
    const publish = 'topic' in packet ? packet : undefined;
    report({ event: 'ack', clientId: client.id, topic: publish?.topic, payload: publish?.payload.toString() });
  });
  broker.on('client', (client) => report({ event: 'client', clientId: client.id }));
  broker.on('clientDisconnect', (client) => report({ event: 'clientDisconnect', clientId: client.id }));
  const cert = process.env['BROKER_TLS_CERT'];
  const key = process.env['BROKER_TLS_KEY'];
  const server = cert && key ? createTlsServer({ cert: readFileSync(cert), key: readFileSync(key) }, broker.handle) : createServer(broker.handle);
  server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
    const address = server.address();
    report({ event: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
