import {
  createSourceEventStream,
  execute,
  getOperationAST,
  Kind,
  OperationTypeNode,
  print,
  subscribe,
  type ExecutionArgs,
  type ExecutionResult,
  type OperationDefinitionNode,
} from 'graphql';
import { AsyncQueue } from '../subscriptions/async-queue';
import { DEFAULT_MAX_BUFFERED } from '../subscriptions/resumable-feed';
import { OutletMember, type NextFrameOutlet } from './outlet-member';

export interface SubscriptionCohortsOptions {
  /**
   * The caller's authorisation scope in an operation's context (tenant and role): operations
   * share a cohort only within one scope, so a tenant never receives another's events.
   */
  readonly scopeOf: (contextValue: unknown) => string;
  /** The error that ends a member that let `maxQueued` results pile up (SLOW_SUBSCRIBER), by root field. */
  readonly slowMember: (rootField: string, maxQueued: number) => Error;
  /** Results a member may have queued before it is ended with `slowMember`. @default 10000 */
  readonly maxQueued?: number;
  /**
   * The socket an operation's frames may be written to directly (outlet-member.ts), from its
   * context; without one (or this option) the member is an iterator graphql-ws pulls from.
   */
  readonly outletOf?: (contextValue: unknown) => NextFrameOutlet | undefined;
}

/** Gauges that prove sharing and cleanup (read by tests and /healthz). */
export interface CohortStats {
  /** Shared executions open: one source subscription each. */
  readonly cohorts: number;
  /** Subscriptions served by them. */
  readonly members: number;
}

/**
 * Cohort execution (DESIGN §9): subscriptions with the same document, operation name,
 * variables and caller scope run as one. The first one's source stream is kept and each of its
 * events is executed ONCE; the same ExecutionResult goes to every member, so the cost of an
 * event grows with cohorts, not subscribers. It is graphql-ws's `subscribe` hook.
 *
 * - Every subscribe still creates its own source first (runs the resolver's checks: role,
 *   arguments, device existence), so each subscriber gets its own error exactly as without
 *   cohorts, and nothing about an earlier subscribe (success or failure) is reused. When a
 *   cohort is open, that new source is closed again and the subscriber joins: it receives the
 *   events that reach the cohort from then on, as a subscription opened then would.
 * - A member whose operation has an outlet (a graphql-ws socket) gets its frames written by the
 *   cohort, in the turn the event was executed (outlet-member.ts); any other is an iterator.
 * - Each member has its own bounded queue, drained as fast as its socket takes frames: a slow
 *   member is ended alone with `slowMember` after what it has queued; the others go on.
 * - A member leaving (complete, socket closed, key revoked) never ends the others; the last one
 *   leaving closes the shared source, which releases its hub subscription.
 * - A subscription that resumes from a cursor (a non-null `after` on its root field) replays
 *   from the database at the pace of its own socket (docs/PROTOCOL.md §4): it is never shared
 *   and runs exactly as graphql-js's `subscribe` would.
 */
export class SubscriptionCohorts {
  private readonly open = new Map<string, Cohort>();
  private readonly maxQueued: number;

  constructor(private readonly options: SubscriptionCohortsOptions) {
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_BUFFERED;
  }

  get stats(): CohortStats {
    let members = 0;
    for (const cohort of this.open.values()) members += cohort.size;
    return { cohorts: this.open.size, members };
  }

  /** graphql-ws's `subscribe`: the same answers as graphql-js's, with the execution shared. */
  readonly subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const operation = getOperationAST(args.document, args.operationName);
    const rootField = operation && shareableRootField(operation, args.variableValues);
    if (!rootField) return subscribe(args);
    const key = JSON.stringify([
      this.options.scopeOf(args.contextValue),
      args.operationName ?? null,
      args.document.loc?.source.body ?? print(args.document),
      args.variableValues ?? null,
    ]);
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const iterator = source[Symbol.asyncIterator]();
    const outlet = this.options.outletOf?.(args.contextValue);
    const existing = this.open.get(key);
    if (existing) {
      // Joined before awaiting: the cohort cannot close in between with this member outside it.
      const member = existing.join(outlet);
      try {
        await iterator.return?.();
      } catch {
        // This subscriber's own source failing to close changes nothing for the cohort it joined.
      }
      return member;
    }
    const cohort = new Cohort(iterator, args, {
      maxQueued: this.maxQueued,
      slowMember: () => this.options.slowMember(rootField, this.maxQueued),
      onEmpty: () => {
        if (this.open.get(key) === cohort) this.open.delete(key);
      },
    });
    this.open.set(key, cohort);
    return cohort.join(outlet);
  };
}

interface CohortSettings {
  readonly maxQueued: number;
  readonly slowMember: () => Error;
  /** The last member left: the cohort is closed and must not be joined. */
  readonly onEmpty: () => void;
}

/** What a cohort delivers to: a member's own bounded queue, or its socket (OutletMember). */
interface Member extends AsyncIterableIterator<ExecutionResult> {
  readonly closed: boolean;
  /** Takes one result; false when the member's queue is full. */
  accept(result: ExecutionResult): boolean;
  end(): void;
  fail(error: unknown): void;
}

/** A member graphql-ws pulls its results from. */
class QueuedMember extends AsyncQueue<ExecutionResult> implements Member {
  constructor(
    private readonly maxQueued: number,
    onClose: () => void,
  ) {
    super(onClose);
  }

  accept(result: ExecutionResult): boolean {
    if (this.size >= this.maxQueued) return false;
    this.push(result);
    return true;
  }
}

/** One shared source, executed once per event, and the queues of its members. */
class Cohort {
  private readonly members = new Set<Member>();
  private closed = false;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    private readonly args: ExecutionArgs,
    private readonly settings: CohortSettings,
  ) {
    void this.pump();
  }

  get size(): number {
    return this.members.size;
  }

  join(outlet: NextFrameOutlet | undefined): Member {
    const leave = () => this.leave(member);
    const member: Member = outlet ? new OutletMember(outlet, this.settings.maxQueued, leave) : new QueuedMember(this.settings.maxQueued, leave);
    this.members.add(member);
    return member;
  }

  private leave(member: Member): void {
    if (!this.members.delete(member) || this.members.size > 0 || this.closed) return;
    this.closed = true;
    this.settings.onEmpty();
    this.closeSource();
  }

  /** Releases the shared source (its hub subscription); a failure to close changes nothing for anyone. */
  private closeSource(): void {
    Promise.resolve(this.source.return?.()).catch(() => {});
  }

  /** Pulls the source as fast as it yields: members' queues, not the source, absorb slow sockets. */
  private async pump(): Promise<void> {
    for (;;) {
      let step: IteratorResult<unknown>;
      let result: ExecutionResult;
      try {
        step = await this.source.next();
        if (step.done || this.closed) {
          this.end();
          return;
        }
        const executed = execute({ ...this.args, rootValue: step.value });
        if (isPromise(executed)) {
          // Members that join while an event's execution awaits get the events after it only.
          const recipients = [...this.members];
          result = await executed;
          for (const member of recipients) this.deliver(member, result);
          continue;
        }
        result = executed;
      } catch (error) {
        this.end(error);
        return;
      }
      for (const member of this.members) this.deliver(member, result);
    }
  }

  private deliver(member: Member, result: ExecutionResult): void {
    if (member.closed || member.accept(result)) return;
    // What it has queued is still delivered; the error comes after it, so its last cursor resumes.
    member.fail(this.settings.slowMember());
    this.leave(member);
  }

  /** The source ended (or failed): every member gets the same ending after what it has queued. */
  private end(error?: unknown): void {
    if (!this.closed) {
      this.closed = true;
      this.settings.onEmpty();
    }
    for (const member of this.members) {
      if (error === undefined) member.end();
      else member.fail(error);
    }
    this.members.clear();
    // An event's execution failed with the source still open: release it too.
    if (error !== undefined) this.closeSource();
  }
}

/**
 * The operation's root field when it may be shared: a single plain field (what a subscription
 * has) that is not given a resume cursor. Anything else runs on its own.
 */
function shareableRootField(operation: OperationDefinitionNode, variables: ExecutionArgs['variableValues']): string | undefined {
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) return undefined;
  const [field, ...more] = operation.selectionSet.selections;
  if (!field || more.length > 0 || field.kind !== Kind.FIELD) return undefined;
  const after = field.arguments?.find((argument) => argument.name.value === 'after')?.value;
  if (after && after.kind !== Kind.NULL) {
    if (after.kind !== Kind.VARIABLE) return undefined;
    const name = after.name.value;
    const given = variables && Object.prototype.hasOwnProperty.call(variables, name) ? variables[name] : undefined;
    const hasDefault = operation.variableDefinitions?.some(
      (definition) => definition.variable.name.value === name && definition.defaultValue?.kind !== Kind.NULL && definition.defaultValue !== undefined,
    );
    if (given !== undefined ? given !== null : hasDefault) return undefined;
  }
  return field.name.value;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
