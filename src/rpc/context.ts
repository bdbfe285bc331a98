/**
 * The current call's context, for handlers: who called, until when, and a signal that aborts
 * when the caller gives up (abort, timeout) or its connection drops.
 *
 * Read it with {@link currentCall} anywhere inside a handler, including after `await`s
 * (it rides on `AsyncLocalStorage`). The `AbortSignal` is created only when a handler asks for
 * it, so calls that never look pay nothing for it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RpcError } from '../errors.js';

/** What a handler can know about the call it is serving. */
export interface CallContext {
  /** The calling node's name (the local node's name for local calls). */
  readonly caller: string;
  /** The module called. */
  readonly module: string;
  /** The function called. */
  readonly function: string;
  /** When the caller stops waiting, in `Date.now()` milliseconds (`Infinity` for casts). */
  readonly deadline: number;
  /** Aborts when the caller aborts or times out, when the deadline passes, or when the caller's connection drops. */
  readonly signal: AbortSignal;
}

/** The mutable record behind a {@link CallContext}. */
export class CallRecord implements CallContext {
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(
    readonly caller: string,
    readonly module: string,
    readonly fn: string,
    readonly deadline: number,
  ) {}

  get function(): string {
    return this.fn;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
      else if (!this.#done && Number.isFinite(this.deadline)) this.#armDeadline();
    }
    return this.#controller.signal;
  }

  /** `true` once the call was aborted (cancelled, caller gone, or deadline passed). */
  get aborted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** Aborts the handler's signal (idempotent). */
  abort(reason: unknown): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    clearTimeout(this.#deadlineTimer);
    this.#controller?.abort(reason);
  }

  /** The handler finished: no more aborts. */
  finish(): void {
    this.#done = true;
    if (this.#deadlineTimer !== undefined) clearTimeout(this.#deadlineTimer);
  }

  #armDeadline(): void {
    const remaining = Math.max(0, this.deadline - Date.now());
    this.#deadlineTimer = setTimeout(() => {
      this.abort(
        new RpcError('request_timeout', `deadline of ${this.module}.${this.fn} passed`, {
          details: { module: this.module, function: this.fn },
        }),
      );
    }, remaining);
    this.#deadlineTimer.unref();
  }
}

/** @internal */
export const callStorage = new AsyncLocalStorage<CallRecord>();

/**
 * The context of the call being served, or `undefined` outside a handler.
 *
 * @example
 * ```ts
 * node.expose('Jobs', {
 *   async run(spec) {
 *     const { caller, signal } = currentCall()!;
 *     return await doWork(spec, { signal });
 *   },
 * });
 * ```
 */
export function currentCall(): CallContext | undefined {
  return callStorage.getStore();
}
