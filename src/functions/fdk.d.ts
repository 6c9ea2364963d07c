/**
 * The part of @fnproject/fdk (plain JavaScript, no types of its own) the function entry
 * point uses: `handle` serves the Fn "http-stream" contract (POST /call on the unix socket
 * named by FN_LISTENER); a rejected handler becomes a 502 answer, which fails the invocation.
 */
declare module '@fnproject/fdk' {
  export interface FdkContext {
    /** When the platform abandons this call (the function's timeout), from the Fn-Deadline header. */
    readonly deadline: Date | null;
    readonly callID: string | null;
  }
  export interface HandleOptions {
    /** How the body is handed to the handler: `json` parses it (falling back to the raw string). */
    readonly inputMode?: 'json' | 'string' | 'buffer';
  }
  /** Starts serving calls with `handler`; returns a function that stops listening. */
  export function handle(handler: (body: unknown, context: FdkContext) => unknown, options?: HandleOptions): () => void;
}
