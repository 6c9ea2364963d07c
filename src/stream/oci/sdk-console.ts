import type { Logger } from '../../logger';

/** The lines oci-common's retrier writes for every failed request (throttling included). */
const RETRIER_LINES = ['Request cannot be retried.', 'All retry attempts have exhausted.', 'Request failed with Exception'];

/**
 * oci-common's retrier writes each failed request to console.warn, even with its retries
 * off, and no option turns that off. OciStream already retries and reports these failures
 * itself, so under throttling those plain-text lines would only break the JSON logs. This
 * sends them to the logger at debug level; every other console.warn line passes through.
 * Returns a function that puts console.warn back (tests).
 */
export function routeOciRetrierWarnings(logger: Logger): () => void {
  const original = console.warn;
  const routed = (...args: unknown[]): void => {
    const [first] = args;
    if (typeof first === 'string' && RETRIER_LINES.some((line) => first.startsWith(line))) logger.debug({ source: 'oci-common' }, first);
    else original.apply(console, args);
  };
  console.warn = routed;
  return () => {
    if (console.warn === routed) console.warn = original;
  };
}
