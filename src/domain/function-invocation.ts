/**
 * The bodies the consumer function accepts besides a Connector Hub batch (connector-hub-batch.ts):
 * a "jobs-only" invocation, which applies no batch and runs the background jobs that are due
 * (retention, liveness, webhook deliveries, command expiry, removing deleted devices' data), so
 * that OCI Resource Scheduler or any periodic trigger can drive them while no readings arrive.
 * Any of:
 *
 *   - an empty body (the FDK hands it over as an empty string),
 *   - JSON `null`,
 *   - `{"jobs": true}`.
 */
export function isJobsOnlyInvocation(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string') return body.trim() === '';
  if (typeof body !== 'object' || Array.isArray(body)) return false;
  const fields = Object.keys(body);
  return fields.length === 1 && fields[0] === 'jobs' && (body as { jobs: unknown }).jobs === true;
}
