import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kind, OperationTypeNode, parse, print, type OperationDefinitionNode } from 'graphql';
import type { Client } from 'graphql-ws';
import { isExcerptOf, readExampleBlocks, valueAt, type ExampleBlock } from '../support/markdown-examples';
import { hasCurl } from '../support/curl';
import { hasMosquittoClients } from '../support/mosquitto';
import { startTestServer, eventually, type TestServer } from '../support/server';
import { connect } from '../support/ws-client';

/**
 * README.md, then docs/PROTOCOL.md, run as a newcomer would run them: every fenced block in
 * document order against one real server, each answer free of errors and equal to the answer
 * the document shows where it shows one. The markers and rules are in the README's "Examples"
 * section. A document that drifts from the service (a renamed field, a device never
 * registered, a range with no data, a missing WebSocket implementation) fails here.
 */

const ROOT = path.resolve(__dirname, '../../..');
const DOCUMENTS = ['README.md', 'docs/PROTOCOL.md'];
const DOC_ORIGIN = '127.0.0.1:4000';
/** How the documents' Mosquitto commands name the built-in MQTT broker. */
const DOC_MQTT = '-h 127.0.0.1 -p 1883';
const run = promisify(execFile);

interface Step {
  readonly block: ExampleBlock;
  /** For a graphql block: the json blocks marked as its variables and its answer. */
  readonly variables?: ExampleBlock;
  readonly answer?: ExampleBlock;
}

/** Groups each graphql block with the variables and answer blocks that follow it. */
function steps(blocks: ExampleBlock[]): Step[] {
  const result: Step[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]!;
    if (block.lang !== 'graphql') {
      result.push({ block });
      continue;
    }
    let variables: ExampleBlock | undefined;
    let answer: ExampleBlock | undefined;
    if (blocks[i + 1]?.marker?.kind === 'variables') variables = blocks[++i];
    if (blocks[i + 1]?.marker?.kind === 'answer') answer = blocks[++i];
    result.push({ block, ...(variables ? { variables } : {}), ...(answer ? { answer } : {}) });
  }
  return result;
}

/** What earlier blocks left for later ones. */
interface State {
  /** `$NAME` saves: environment variables of later sh blocks. */
  readonly env: Record<string, string>;
  /** Other saves (`<anomaly id>`): replaced in the text of later blocks. */
  readonly replacements: Map<string, string>;
  readonly subscriptions: { where: string; events: unknown[]; errors: unknown[] }[];
}

/** A block that drives the MQTT broker with Mosquitto's clients. */
const usesMosquitto = (block: ExampleBlock) => /\bmosquitto_(pub|sub)\b/.test(block.text);

function substitute(text: string, state: State, server: TestServer): string {
  let result = text.replaceAll(DOC_ORIGIN, new URL(server.baseUrl).host);
  if (server.app.mqttUrl) result = result.replaceAll(DOC_MQTT, `-h 127.0.0.1 -p ${new URL(server.app.mqttUrl).port}`);
  for (const [name, value] of state.replacements) result = result.replaceAll(name, value);
  return result;
}

/**
 * Applies a block's save marker to an answer holding its path, so that the rest of the block
 * and later blocks can use it; returns whether it did.
 */
function trySave(step: Step, answer: unknown, state: State): boolean {
  const marker = step.block.marker;
  if (marker?.kind !== 'save') return false;
  const value = valueAt(answer, marker.path);
  if (typeof value !== 'string') return false;
  if (marker.name.startsWith('$')) state.env[marker.name.slice(1)] = value;
  else state.replacements.set(marker.name, value);
  return true;
}

/** Fails when a block marked to save a value gave no answer holding it. */
function saveFrom(step: Step, answers: unknown[], state: State): void {
  if (step.block.marker?.kind !== 'save') return;
  if (!answers.some((answer) => trySave(step, answer, state))) {
    throw new Error(`${step.block.where}: no answer has a string at ${step.block.marker.path}: ${JSON.stringify(answers)}`);
  }
}

/** An answer must carry no GraphQL `errors`, no plain `error` and no rejected reading. */
function expectClean(where: string, answer: unknown): void {
  const body = answer as { errors?: unknown; error?: unknown; rejectedCount?: number };
  if (body.errors !== undefined || body.error !== undefined || (body.rejectedCount ?? 0) > 0) {
    throw new Error(`${where} answered ${JSON.stringify(answer)}`);
  }
}

function totalSubscribers(server: TestServer): number {
  return (
    server.app.hub.activeSubscriptions + server.app.anomalyHub.subscriberCount + server.app.statusHub.subscriberCount + server.app.commandHub.subscriberCount
  );
}

async function runGraphQL(step: Step, server: TestServer, ws: Client, state: State): Promise<void> {
  const document = parse(step.block.text);
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const variables = step.variables ? (JSON.parse(substitute(step.variables.text, state, server)) as Record<string, unknown>) : undefined;
  const expected = step.answer ? (JSON.parse(step.answer.text) as Record<string, unknown>) : undefined;
  let saved = false;
  for (const [index, operation] of operations.entries()) {
    const where = `${step.block.where} (operation ${index + 1})`;
    // Substituted one operation at a time: an operation may use what the one before saved.
    const query = substitute(print({ kind: Kind.DOCUMENT, definitions: [operation] }), state, server);
    if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
      // A reader keeps it open while running the next examples; it must see an event by the end.
      const before = totalSubscribers(server);
      const subscription = { where, events: [] as unknown[], errors: [] as unknown[] };
      state.subscriptions.push(subscription);
      ws.subscribe(
        { query, ...(variables ? { variables } : {}) },
        {
          next: (value) => (value.errors ? subscription.errors.push(value.errors) : subscription.events.push(value.data)),
          error: (error) => subscription.errors.push(error),
          complete: () => undefined,
        },
      );
      // Registered on the server before the next block runs, so no event it sends is missed.
      await eventually(() => (subscription.errors.length > 0 || totalSubscribers(server) > before ? true : undefined), 15_000, `${where} to register`);
      if (subscription.errors.length > 0) throw new Error(`${where} failed: ${JSON.stringify(subscription.errors)}`);
      continue;
    }
    const send = async () => {
      const response = await fetch(`${server.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as { data?: unknown };
    };
    const isLast = index === operations.length - 1;
    const check = (answer: { data?: unknown }) => {
      expectClean(where, answer);
      if (isLast && expected) expect(answer.data).toMatchObject(expected);
    };
    if (operation.operation === OperationTypeNode.MUTATION) {
      const answer = await send();
      check(answer);
      saved ||= trySave(step, answer.data, state);
      continue;
    }
    // The consumer stores a reading a few milliseconds after ingest acknowledged it: a query
    // is asked again until it answers as shown, as a reader would look again.
    let last: { data?: unknown } | undefined;
    const answer = await eventually(
      async () => {
        last = await send();
        try {
          check(last);
          // A value to save may also be a row the consumer has not stored yet.
          if (isLast && !saved && step.block.marker?.kind === 'save' && valueAt(last.data, step.block.marker.path) === undefined) return undefined;
          return last;
        } catch {
          return undefined;
        }
      },
      15_000,
      `${where} to answer as documented`,
    ).catch(() => {
      check(last ?? {}); // throws the precise mismatch
      throw new Error(`${where}: no answer`);
    });
    saved ||= trySave(step, answer.data, state);
  }
  if (step.block.marker?.kind === 'save' && !saved) throw new Error(`${step.block.where}: no answer has a string at ${step.block.marker.path}`);
}

async function runShell(step: Step, server: TestServer, state: State): Promise<void> {
  const script = substitute(step.block.text, state, server);
  const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', TELEMETRY_ADMIN_KEY: server.adminKey, ...state.env },
  });
  const answers = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
  // mosquitto_pub prints nothing: at QoS 1 its exit status 0 says the broker acknowledged (stored).
  if (answers.length === 0 && !usesMosquitto(step.block)) throw new Error(`${step.block.where} printed nothing`);
  for (const answer of answers) expectClean(step.block.where, answer);
  saveFrom(step, answers, state);
}

/** A raw request: `METHOD /path`, headers, a blank line, the body; sent with the admin key. */
async function runHttp(step: Step, server: TestServer, state: State): Promise<void> {
  const [head, ...rest] = substitute(step.block.text, state, server).split('\n\n');
  const [requestLine, ...headerLines] = head!.split('\n');
  const [method, target] = requestLine!.split(' ');
  const headers: Record<string, string> = { authorization: `Bearer ${server.adminKey}` };
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  const response = await fetch(`${server.baseUrl}${target!}`, { method: method!, headers, body: rest.join('\n\n').trim() });
  const answer: unknown = await response.json();
  if (!response.ok) throw new Error(`${step.block.where} answered ${response.status}: ${JSON.stringify(answer)}`);
  expectClean(step.block.where, answer);
  saveFrom(step, [answer], state);
}

function checkExcerpt(step: Step): void {
  const marker = step.block.marker;
  if (marker?.kind !== 'excerpt') throw new Error(`${step.block.where}: a ${step.block.lang} block is run by no one: mark it (see the README's Examples)`);
  const verdict = isExcerptOf(step.block.text, readFileSync(path.join(ROOT, marker.file), 'utf8'));
  if (!verdict.ok) throw new Error(`${step.block.where}: not in ${marker.file}: ${verdict.missing}`);
}

const allSteps = DOCUMENTS.flatMap((file) => steps(readExampleBlocks(ROOT, file)));

/**
 * The examples send readings with fixed timestamps, and the service refuses readings older than
 * TELEMETRY_MAX_READING_AGE_DAYS (365 by default; a history import with allowOldTimestamps,
 * older than that, up to the raw retention, 730 days by default): a year after they were
 * written the examples would stop working for readers. This fails a month before that, saying
 * what to do.
 */
describe("the documents' example readings stay inside the accepted age", () => {
  it('no example timestamp is within 30 days of being refused as too old', () => {
    const stamps = allSteps
      .filter(({ block }) => block.marker?.kind !== 'skip' && block.lang !== '')
      .flatMap(({ block }) => {
        const acceptedDays = block.text.includes('allowOldTimestamps=true') ? 730 : 365;
        return [...block.text.matchAll(/\b\d{4}-\d{2}-\d{2}T[\d:.]+Z\b/g)].map((match) => ({
          where: block.where,
          at: Date.parse(match[0]),
          refusedFrom: Date.parse(match[0]) + acceptedDays * 86_400_000,
        }));
      })
      .filter(({ at }) => Number.isFinite(at));
    expect(stamps.length).toBeGreaterThan(0);
    const oldest = stamps.reduce((a, b) => (b.refusedFrom < a.refusedFrom ? b : a));
    const refusedFrom = oldest.refusedFrom;
    if (refusedFrom - Date.now() < 30 * 86_400_000) {
      throw new Error(
        `${oldest.where}: example readings dated ${new Date(oldest.at).toISOString()} are refused as too old from ${new Date(refusedFrom).toISOString()}: move the documents' example dates forward`,
      );
    }
  });
});

// Without curl the sh blocks cannot run, and the blocks after them depend on what they did.
(hasCurl ? describe : describe.skip)('README.md and docs/PROTOCOL.md, run in order (skipped without curl)', () => {
  let server: TestServer;
  let ws: Client;
  const state: State = { env: {}, replacements: new Map(), subscriptions: [] };

  beforeAll(async () => {
    // The built-in MQTT broker on a free port, for the Mosquitto examples.
    server = await startTestServer({ TELEMETRY_MQTT_PORT: '0' });
    ws = connect(server.app.url.replace(/^http/, 'ws'), server.adminKey);
  });
  afterAll(async () => {
    await ws.dispose();
    await server.close();
  });

  for (const step of allSteps) {
    const { block } = step;
    const name = `${block.where} ${block.lang || 'output'}`;
    if (block.marker?.kind === 'skip') {
      // The reason is in the document, beside the block, and in this test's name.
      it.skip(`${name}: ${block.marker.reason}`, () => undefined);
      continue;
    }
    if (block.lang === '') continue; // output shown to the reader, not a command
    if (usesMosquitto(block) && !hasMosquittoClients) {
      it.skip(`${name}: mosquitto-clients is not installed`, () => undefined);
      continue;
    }
    it(name, async () => {
      switch (block.lang) {
        case 'graphql':
          return runGraphQL(step, server, ws, state);
        case 'sh':
          return runShell(step, server, state);
        case 'http':
          return runHttp(step, server, state);
        case 'json':
          // Variables and answers are taken by the graphql block before them.
          throw new Error(`${block.where}: a json block that is neither variables nor an answer of the graphql block just before (mark it)`);
        default:
          checkExcerpt(step);
      }
    });
  }

  it('every subscription of the documents received an event and no error', async () => {
    expect(state.subscriptions.length).toBeGreaterThan(0);
    for (const subscription of state.subscriptions) {
      await eventually(() => (subscription.events.length > 0 || subscription.errors.length > 0 ? true : undefined), 15_000, `${subscription.where} to deliver`);
      expect({ where: subscription.where, errors: subscription.errors }).toEqual({ where: subscription.where, errors: [] });
    }
  });
});
