import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { BrokerEvent } from './mqtt-broker-process';
import { eventually } from './server';

/** A second MQTT broker for the bridge to connect to: aedes in a child process (mqtt-broker-process.ts). */
export interface TestBroker {
  readonly port: number;
  readonly url: string;
  /** Every event the broker reported, in order (across restarts). */
  readonly events: BrokerEvent[];
  /** Kills the broker (SIGKILL: sessions and undelivered messages are lost, as in a crash of a broker without persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const PROCESS = path.join(__dirname, 'mqtt-broker-process.js');

export interface TestBrokerOptions {
  /** The only credentials it accepts. @default any */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Listen for mqtts with this certificate and key (PEM files). @default plain TCP */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const { credentials, tls } = options;
  const events: BrokerEvent[] = [];
  let child: ChildProcess | undefined;
  const spawn = async (port: number): Promise<number> => {
    const env = {
      ...process.env,
      ...(credentials ? { BROKER_USERNAME: credentials.username, BROKER_PASSWORD: credentials.password } : {}),
      ...(tls ? { BROKER_TLS_CERT: tls.certFile, BROKER_TLS_KEY: tls.keyFile } : {}),
    };
    const started = fork(PROCESS, [String(port)], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = started;
    const listening = new Promise<number>((resolve, reject) => {
      started.once('exit', (code) => reject(new Error(`the broker exited with ${code}`)));
      started.on('message', (message: BrokerEvent) => {
        events.push(message);
        if (message.event === 'listening') resolve(message.port);
      });
    });
    return listening;
  };
  const port = await spawn(0);
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  return {
    port,
    url: `${tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    events,
    kill,
    async restart() {
      await kill();
      // The port was just released; retried in case the kernel has not freed it yet.
      await eventually(
        () =>
          spawn(port).then(
            () => true,
            () => undefined,
          ),
        10_000,
        'the broker to listen again',
      );
    },
    close: kill,
  };
}

/** The events of one kind, typed. */
export function eventsOf<K extends BrokerEvent['event']>(broker: TestBroker, kind: K): Extract<BrokerEvent, { event: K }>[] {
  return broker.events.filter((event): event is Extract<BrokerEvent, { event: K }> => event.event === kind);
}
