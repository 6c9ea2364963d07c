import type { DeadLetter } from '../../domain/dead-letter';
import type { Page, PageRequest } from '../../domain/page';

/** Messages the consumer could never apply (written by the batch pipeline), per tenant. */
export interface DeadLetterStore {
  listDeadLetters(tenantId: string, page: PageRequest): Promise<Page<DeadLetter>>;
  getDeadLetter(tenantId: string, id: number): Promise<DeadLetter | undefined>;
  markDeadLetterReplayed(tenantId: string, id: number, at: number): Promise<void>;
}
