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
  visit,
  type DocumentNode,
  type OperationDefinitionNode,
} from 'graphql';
import { AsyncQueue } from '../subscriptions/async-queue';
import { isPositionedFeed, type FeedPositions, type PositionRanges, type PositionedFeed } from '../subscriptions/positioned-feed';
import { DEFAULT_MAX_BUFFERED } from '../subscriptions/resumable-feed';
import { CatchingUpSubscription, isPromise, type HandOverAnswer } from './catching-up-subscription';
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
  /** A resumed subscription's waits between tries to join its cohort, first and longest, ms. @default DEFAULT_RETRY_DELAYS_MS */
  readonly catchUpRetryDelaysMs?: readonly [first: number, max: number];
  /** How long a replay shared by several subscribers waits for the slowest, ms. @default SLOWEST_FOLLOWER_WAIT_MS */
  readonly slowestFollowerWaitMs?: number;
  /** How long a replay waits for others resuming from the same cursor before it starts, ms. @default REPLAY_GATHER_MS */
  readonly replayGatherMs?: number;
}

/** Gauges that prove sharing and cleanup (read by tests and /healthz). */
export interface CohortStats {
  /** Shared executions open: one source subscription each. */
  readonly cohorts: number;
  /** Subscriptions served by them. */
  readonly members: number;
  /** Subscriptions that resumed from a cursor, running alone until they have caught up and join one. */
  readonly catchingUp: number;
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
 * - A subscription that resumes from a cursor (a non-null `after` variable on its root field)
 *   replays from the database at the pace of its own socket (docs/PROTOCOL.md §4), alone
 *   (catching-up-subscription.ts). Once caught up it joins the cohort of the same operation
 *   without `after` (handOver below says why without a gap or a duplicate), or, when there is
 *   none, its own feed becomes that cohort's source. Without a socket to write to, or with
 *   `after` given literally or used elsewhere in the document, it runs as graphql-js's
 *   `subscribe` would.
 */
export class SubscriptionCohorts {
  private readonly open = new Map<string, Cohort>();
  /** Resumed subscriptions replaying apart from their cohort, by cohort key (each shared by the subscribers that follow it). */
  private readonly alone = new Map<string, Set<CatchingUpSubscription>>();
  private readonly maxQueued: number;

  constructor(private readonly options: SubscriptionCohortsOptions) {
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_BUFFERED;
  }

  get stats(): CohortStats {
    let members = 0;
    for (const cohort of this.open.values()) members += cohort.size;
    let catchingUp = 0;
    for (const replays of this.alone.values()) for (const replay of replays) catchingUp += replay.subscribers.size;
    return { cohorts: this.open.size, members, catchingUp };
  }

  /** Replays running apart from their cohort, each shared by the subscribers that follow it (read by tests). */
  get replays(): number {
    let replays = 0;
    for (const running of this.alone.values()) replays += running.size;
    return replays;
  }

  /** graphql-ws's `subscribe`: the same answers as graphql-js's, with the execution shared. */
  readonly subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const operation = getOperationAST(args.document, args.operationName);
    const shape = operation && shareableShape(operation, args.document, args.variableValues);
    if (!shape) return subscribe(args);
    const outlet = this.options.outletOf?.(args.contextValue);
    if (shape.resumes && !outlet) return subscribe(args);
    // Live and resumed subscriptions of one operation share a key: `after` is what tells them apart.
    const variables = Object.entries(args.variableValues ?? {}).filter(([name]) => name !== shape.afterVariable);
    const key = JSON.stringify([
      this.options.scopeOf(args.contextValue),
      args.operationName ?? null,
      args.document.loc?.source.body ?? print(args.document),
      variables,
    ]);
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source;
    const iterator = source[Symbol.asyncIterator]();
    if (shape.resumes) return this.resume(key, iterator, args, outlet!, shape.rootField);
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
    return this.openCohort(key, iterator, args, shape.rootField).join(outlet);
  };

  /**
   * A subscription resuming from a cursor: it follows a replay of the same operation standing
   * exactly where its own feed starts (catching-up-subscription.ts says why that is exact), and
   * closes its own feed; else its own replay starts.
   */
  private async resume(key: string, iterator: AsyncIterator<unknown>, args: ExecutionArgs, outlet: NextFrameOutlet, rootField: string): Promise<OutletMember> {
    const feed = isPositionedFeed(iterator) ? iterator : undefined;
    let replays = this.alone.get(key);
    if (feed && replays) {
      for (const replay of replays) {
        const member = replay.follow(outlet, feed.positions());
        if (!member) continue;
        try {
          await iterator.return?.();
        } catch {
          // This subscriber's own feed failing to close changes nothing for the replay it follows.
        }
        return member;
      }
    }
    const subscription: CatchingUpSubscription = new CatchingUpSubscription(iterator, feed, args, outlet, {
      maxQueued: this.maxQueued,
      slowMember: () => this.options.slowMember(rootField, this.maxQueued),
      handOver: (caughtUp) => this.handOver(key, caughtUp, rootField),
      onEmpty: () => this.forget(key, subscription),
      ...(this.options.catchUpRetryDelaysMs ? { retryDelays: this.options.catchUpRetryDelaysMs } : {}),
      ...(this.options.slowestFollowerWaitMs !== undefined ? { slowestFollowerWaitMs: this.options.slowestFollowerWaitMs } : {}),
      ...(this.options.replayGatherMs !== undefined ? { gatherMs: this.options.replayGatherMs } : {}),
    });
    if (!replays) this.alone.set(key, (replays = new Set()));
    replays.add(subscription);
    return subscription.member;
  }

  private forget(key: string, subscription: CatchingUpSubscription): void {
    const replays = this.alone.get(key);
    if (!replays?.delete(subscription) || replays.size > 0) return;
    this.alone.delete(key);
  }

  private openCohort(key: string, source: AsyncIterator<unknown>, args: ExecutionArgs, rootField: string): Cohort {
    const cohort = new Cohort(source, isPositionedFeed(source) ? source : undefined, args, {
      maxQueued: this.maxQueued,
      slowMember: () => this.options.slowMember(rootField, this.maxQueued),
      onEmpty: () => {
        if (this.open.get(key) === cohort) this.open.delete(key);
      },
    });
    this.open.set(key, cohort);
    return cohort;
  }

  /**
   * A resumed subscription whose feed is caught up, with everything it yielded written, asks to
   * join the cohort of its operation without `after`. Called synchronously at that moment, so
   * nothing it has not delivered was published yet; from here on every event reaches both feeds
   * in the same synchronous publication.
   *
   * - No cohort: its own feed becomes the cohort's source, its member the first member; later
   *   live subscribers join it and get its cursors, as they would get any first member's.
   * - A cohort: the cohort delivers to the member only events beyond the positions the member's
   *   feed delivered through (its own pipeline may hold older ones). That is without a gap and
   *   without a duplicate, and the cohort's cursors resume as the member's would, when between
   *   the two feeds' positions, in every partition, there is no event of theirs: an event there
   *   would be one the member's feed has and the cohort's skips, or the other way round (stored,
   *   not yet published). Equal positions need no check; others are asked of the feed once
   *   (`verify`, PositionedFeed.storedIn: the database for readings, where offsets up to a
   *   position are stored already, so a range found empty stays empty; the node's anomaly order
   *   for anomalies). An event found there is on its way: the member delivers alone and tries
   *   again after a back-off. A cohort that is ending is not joined.
   */
  private handOver(key: string, subscription: CatchingUpSubscription, rootField: string): HandOverAnswer {
    const feed = subscription.feed;
    if (!feed) return 'later';
    const cohort = this.open.get(key);
    if (!cohort) {
      this.forget(key, subscription);
      const opened = this.openCohort(key, subscription.source, { ...subscription.args }, rootField);
      for (const member of subscription.handOff()) opened.admit(member);
      return 'joined';
    }
    // A cohort ending (its device deleted before this subscription opened) is not joined: its
    // ending is not this subscription's. Once it has closed, this one tries again.
    if (!cohort.feed || cohort.feed.ending) return 'later';
    const mine = feed.positions();
    const unchecked = rangesBetween(mine, cohort.feed.positions(), subscription.verifiedRanges);
    if (unchecked.size > 0) return { verify: unchecked };
    this.forget(key, subscription);
    for (const member of subscription.handOff()) cohort.admit(member, new Map(mine));
    subscription.closeSource();
    return 'joined';
  }
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

/**
 * Per partition, the offset through which a member that came from its own feed has its events
 * already (handOver): the cohort's results up to it are skipped. A partition leaves the map with
 * the first result beyond it (later ones are all beyond), the map with the last partition.
 */
type DeliveredThrough = Map<number, number>;

/** One shared source, executed once per event, and the queues of its members. */
class Cohort {
  private readonly members = new Map<Member, DeliveredThrough | undefined>();
  private closed = false;

  constructor(
    private readonly source: AsyncIterator<unknown>,
    /** The source's positions, when it has them: resumed subscriptions can join only then. */
    readonly feed: PositionedFeed<unknown> | undefined,
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
    this.members.set(member, undefined);
    return member;
  }

  /** Takes in a member that was delivered to until now by a feed of its own, through `delivered`. */
  admit(member: OutletMember, delivered?: DeliveredThrough): void {
    member.onClose = () => this.leave(member);
    this.members.set(member, delivered);
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
          const position = this.feed?.positionOf(step.value);
          for (const [member, delivered] of recipients) this.deliver(member, delivered, result, position);
          continue;
        }
        result = executed;
      } catch (error) {
        this.end(error);
        return;
      }
      const position = this.feed?.positionOf(step.value);
      for (const [member, delivered] of this.members) this.deliver(member, delivered, result, position);
    }
  }

  private deliver(member: Member, delivered: DeliveredThrough | undefined, result: ExecutionResult, position: readonly [number, number] | undefined): void {
    if (delivered && position) {
      const [partition, offset] = position;
      const through = delivered.get(partition);
      if (through !== undefined) {
        if (offset <= through) return;
        delivered.delete(partition);
        if (delivered.size === 0 && this.members.has(member)) this.members.set(member, undefined);
      }
    }
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
    for (const member of this.members.keys()) {
      if (error === undefined) member.end();
      else member.fail(error);
    }
    this.members.clear();
    // An event's execution failed with the source still open: release it too.
    if (error !== undefined) this.closeSource();
  }
}

/**
 * The ranges (after, through] per partition between two feeds' positions that are not known to
 * hold no event: empty when the positions are equal or every difference was checked.
 */
function rangesBetween(mine: FeedPositions, theirs: FeedPositions, checked: PositionRanges): Map<number, readonly [number, number]> {
  const unchecked = new Map<number, readonly [number, number]>();
  for (const partition of new Set([...mine.keys(), ...theirs.keys()])) {
    const a = mine.get(partition) ?? -1;
    const b = theirs.get(partition) ?? -1;
    if (a === b) continue;
    const after = Math.min(a, b);
    const through = Math.max(a, b);
    const known = checked.get(partition);
    if (known && known[0] <= after && through <= known[1]) continue;
    unchecked.set(partition, [after, through]);
  }
  return unchecked;
}

interface SubscriptionShape {
  readonly rootField: string;
  /** The variable that gives the root field its `after`, when nothing else reads it: left out of the cohort's key. */
  readonly afterVariable: string | undefined;
  /** Given a non-null `after` (through that variable): it resumes from a cursor. */
  readonly resumes: boolean;
}

/**
 * How an operation may be shared: a subscription of a single plain field, live, or resuming from
 * a cursor given in a variable that nothing else in the document reads (so that, but for where
 * it starts, it is the live operation). Anything else runs on its own.
 */
function shareableShape(operation: OperationDefinitionNode, document: DocumentNode, variables: ExecutionArgs['variableValues']): SubscriptionShape | undefined {
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) return undefined;
  const [field, ...more] = operation.selectionSet.selections;
  if (!field || more.length > 0 || field.kind !== Kind.FIELD) return undefined;
  const after = field.arguments?.find((argument) => argument.name.value === 'after')?.value;
  if (!after || after.kind === Kind.NULL) return { rootField: field.name.value, afterVariable: undefined, resumes: false };
  if (after.kind !== Kind.VARIABLE) return undefined;
  const name = after.name.value;
  const given = variables && Object.prototype.hasOwnProperty.call(variables, name) ? variables[name] : undefined;
  const defaultValue = operation.variableDefinitions?.find((definition) => definition.variable.name.value === name)?.defaultValue;
  const resumes = given !== undefined ? given !== null : defaultValue !== undefined && defaultValue.kind !== Kind.NULL;
  const readOnce = defaultValue === undefined && variableUses(document, name) === 1;
  if (resumes && !readOnce) return undefined;
  return { rootField: field.name.value, afterVariable: readOnce ? name : undefined, resumes };
}

/** How many times the document reads variable `name` (its definition aside). */
function variableUses(document: DocumentNode, name: string): number {
  let uses = 0;
  visit(document, {
    VariableDefinition: () => false,
    Variable: (node) => {
      if (node.name.value === name) uses++;
    },
  });
  return uses;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}
