import type { Anomaly, AnomalyKind, AnomalyStatus, AnomalyTransition, Severity } from '../../domain/anomalies/anomaly';
import type { AnomalyRule } from '../../domain/anomalies/rules';
import type { Page, PageRequest } from '../../domain/page';

export interface AnomalyFilter {
  readonly deviceId?: string | undefined;
  readonly status?: AnomalyStatus | undefined;
  readonly kind?: AnomalyKind | undefined;
  readonly minSeverity?: Severity | undefined;
}

/** Detection rules, and the anomalies detection raised (written by the batch pipeline and the liveness sweep). */
export interface AnomalyStore {
  // Rules
  /** Creates or replaces the rule for (scope, metric); returns it as stored (its id is kept on replace). */
  putAnomalyRule(rule: AnomalyRule): Promise<AnomalyRule>;
  listAnomalyRules(tenantId: string): Promise<AnomalyRule[]>;
  /** False when no such rule exists in the tenant. */
  deleteAnomalyRule(tenantId: string, id: string): Promise<boolean>;

  // Anomalies
  /** Most recently changed first (seq order, descending); `afterKey` is the seq of the last item of the previous page. */
  listAnomalies(tenantId: string, filter: AnomalyFilter, page: PageRequest): Promise<Page<Anomaly>>;
  /** The tenant's anomalies with seq > afterSeq in seq order (subscription replay). */
  anomaliesAfter(tenantId: string, afterSeq: number, limit: number): Promise<Anomaly[]>;
  /** Anomalies of every tenant with seq > afterSeq in seq order (the events-topic publisher, anomaly ordering). */
  anomaliesOfAllTenantsAfter(afterSeq: number, limit: number): Promise<Anomaly[]>;
  /** Highest seq stored (0 when none): where a live-only subscription starts. */
  lastAnomalySeq(): Promise<number>;
  /** Highest seq of the tenant's anomalies that retention removed (0: none): a resume from before it is refused. */
  prunedAnomalySeq(tenantId: string): Promise<number>;
  /**
   * acknowledge: OPEN -> ACKNOWLEDGED; resolve: OPEN or ACKNOWLEDGED -> RESOLVED.
   * Undefined when the anomaly does not exist in the tenant; TelemetryError BAD_USER_INPUT
   * when the transition is not allowed from its status.
   */
  transitionAnomaly(tenantId: string, id: number, transition: AnomalyTransition): Promise<Anomaly | undefined>;
}
