/**
 * The current call's context, for handlers: who called, until when, the caller's metadata, a
 * signal that aborts when the caller gives up (abort, timeout) or its connection drops, and the
 * trailer a handler may send back with its reply.
 *
 * Read it with {@link currentCall} anywhere inside a handler, including after `await`s
 * (it rides on `AsyncLocalStorage`). The `AbortSignal` is created only when a handler asks for
 * it, so calls that never look pay nothing for it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { RpcError } from '../errors.js';
import type { ServeTrace } from '../tracing.js';
import { encodeValue } from './codec.js';
import {
  type CallMetadata,
  envelopeProblem,
  MAX_ENVELOPE_BYTES,
  MAX_ENVELOPE_KEYS,
  NO_METADATA,
} from './envelope.js';
import type { RpcLink } from './link.js';

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
  /** The metadata the caller sent with the call (`meta` in its call options); empty when none. */
  readonly meta: CallMetadata;
  /** `true` for a cast: nobody waits for the result, and a trailer goes nowhere. */
  readonly isCast: boolean;
  /**
   * Adds an entry to the trailer sent back with the reply (success or error), which the caller
   * reads through its `onTrailer` call option. Throws an `RpcError` `bad_request` when the
   * trailer would break its limits (64 keys, keys up to 255 bytes, 16 KiB encoded) or the value
   * cannot be encoded. Ignored for casts.
   */
  setTrailer(key: string, value: unknown): void;
}

/** How a call served for the local node reports back (the caller's pending attempt). */
export interface LocalReply {
  /** The handler finished: `ok` with its result, or not with an `RpcError`. */
  end(ok: boolean, value: unknown, trailer: CallMetadata | undefined): void;
}

/**
 * A call being served: the context handlers see, and where its reply goes (a connection and a
 * request id, the local caller, or nowhere for a cast).
 */
export class IncomingCall implements CallContext {
  /** The connection the reply goes to (`null` for a local call). */
  link: RpcLink | null = null;
  /** The request id to reply to (0 for a cast). */
  id = 0;
  /** For a local call: who gets the reply. */
  local: LocalReply | undefined;
  /** The trailer entries set so far, if any. */
  trailer: Record<string, unknown> | undefined;
  /** Its `rpc-load-balancer:serve` trace, while someone subscribes. */
  trace: ServeTrace | undefined;
  #trailerBytes = 0;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(
    readonly caller: string,
    readonly module: string,
    readonly fn: string,
    readonly deadline: number,
    readonly meta: CallMetadata = NO_METADATA,
  ) {}

  get function(): string {
    return this.fn;
  }

  get isCast(): boolean {
    return this.id === 0 && this.local === undefined;
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

  setTrailer(key: string, value: unknown): void {
    if (this.isCast) return;
    const next = { ...this.trailer, [key]: value };
    let problem =
      typeof key === 'string' ? envelopeProblem(next, 'trailer') : 'trailer keys must be strings';
    let bytes = 0;
    if (problem === undefined) {
      try {
        bytes = encodeValue(key).length + encodeValue(value).length;
      } catch (err) {
        problem = `trailer value for ${JSON.stringify(key)} cannot be encoded: ${(err as Error).message}`;
      }
    }
    if (problem === undefined && this.#trailerBytes + bytes > MAX_ENVELOPE_BYTES - 8) {
      problem = `the trailer would encode to more than ${MAX_ENVELOPE_BYTES} bytes`;
    }
    if (problem !== undefined) {
      throw new RpcError('bad_request', problem, {
        details: {
          module: this.module,
          function: this.fn,
          reason: 'bad_trailer',
          maxKeys: MAX_ENVELOPE_KEYS,
        },
      });
    }
    this.#trailerBytes += bytes;
    this.trailer = next;
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
export const callStorage = new AsyncLocalStorage<IncomingCall>();

/**
 * The context of the call being served, or `undefined` outside a handler.
 *
 * @example
 * ```ts
 * node.expose('Jobs', {
 *   async run(spec) {
 *     const { caller, signal, meta } = currentCall()!;
 *     currentCall()!.setTrailer('worker', node.name);
 *     return await doWork(spec, { signal, tenant: meta.tenant });
 *   },
 * });
 * ```
 */
export function currentCall(): CallContext | undefined {
  return callStorage.getStore();
}
