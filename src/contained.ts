/**
 * Running user code (node event listeners, group monitors) so that nothing it throws escapes
 * into the socket handler, timer or microtask that ran it, where it would become an uncaught
 * exception (or an unhandled rejection) and end the process. A leaf: imports nothing above it.
 */
import { inspect } from 'node:util';

/** A thrown value for a log line: an `Error`'s stack (name, message, frames), else the value inspected. */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) return value.stack ?? `${value.name}: ${value.message}`;
    return inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
  } catch {
    return 'a value that cannot be described';
  }
}

/**
 * Calls `fn(...args)` with `thisArg`; a throw, or a promise it returns that rejects, goes to
 * `onError` instead of up the stack.
 */
export function callContained(
  fn: (...args: never[]) => unknown,
  thisArg: unknown,
  args: readonly unknown[],
  onError: (err: unknown) => void,
): void {
  try {
    const result: unknown = Reflect.apply(fn, thisArg, args);
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as PromiseLike<unknown>).then === 'function'
    ) {
      (result as PromiseLike<unknown>).then(undefined, onError);
    }
  } catch (err) {
    onError(err);
  }
}

/**
 * Emits `event` on `emitter` from inside a socket handler: each listener runs contained, so one
 * that throws (or rejects) is logged with its error, the others still run, and the socket
 * handler that reported the event goes on. `emit()` would throw into it and end the process.
 */
export function emitContained(
  emitter: { rawListeners(event: string): unknown[] },
  event: string,
  args: readonly unknown[],
  logger: { error(message: string): void },
): void {
  // rawListeners: `once` listeners come wrapped, and their wrapper removes them when called.
  for (const listener of emitter.rawListeners(event)) {
    callContained(listener as (...a: never[]) => unknown, emitter, args, (err) =>
      logger.error(`a "${event}" listener threw: ${describeThrown(err)}`),
    );
  }
}
