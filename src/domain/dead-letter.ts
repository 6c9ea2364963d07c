/** A message the consumer could never apply, kept with its reason and original payload. */
export interface DeadLetter {
  readonly id: number;
  readonly tenantId: string | null;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  readonly payload: string;
  readonly createdAt: number;
  /** When an admin last sent it back to the stream, or null. */
  readonly replayedAt: number | null;
}

export type NewDeadLetter = Omit<DeadLetter, 'id' | 'createdAt' | 'replayedAt'>;
