/**
 * The one error type of the library, with stable codes.
 *
 * Every failure of `call`, `cast`, `selectNode`, `lb.call` and `lb.cast` is an {@link RpcError}
 * (except an abort through `signal`, which rejects with the signal's reason). Errors cross the
 * wire through {@link toWireError} / {@link fromWireError}, so a remote failure arrives with the
 * same code it was raised with.
 */

/** The stable error codes, each with its HTTP-like status. */
export const ERROR_CODES = {
  bad_request: 400,
  not_found: 404,
  request_timeout: 408,
  internal_server_error: 500,
  service_unavailable: 503,
} as const;

/** One of the stable error codes: `bad_request`, `not_found`, `request_timeout`, `internal_server_error`, `service_unavailable`. */
export type RpcErrorCode = keyof typeof ERROR_CODES;

/** What a remote handler threw, as seen by the caller. */
export interface RemoteErrorInfo {
  /** The thrown error's `name` (e.g. `TypeError`). */
  name: string;
  /** The thrown error's `message`. */
  message: string;
  /** The remote stack, unless the serving node turned stacks off (`exposeErrorStacks: false`). */
  stack?: string;
  /** The thrown error's `code` property, when it had a string one. */
  code?: string;
}

/** Structured details of an {@link RpcError}. Fields are set where known. */
export interface RpcErrorDetails {
  /** The target node of the failed call. */
  node?: string;
  /** The balancer that routed the call. */
  balancer?: string;
  /** The module called. */
  module?: string;
  /** The function called. */
  function?: string;
  /** For `internal_server_error`: what the remote handler threw. */
  remote?: RemoteErrorInfo;
  /** For `request_timeout`: the timeout that elapsed, in ms. */
  timeoutMs?: number;
  /** A short machine-readable reason (e.g. `not_connected`, `connection_lost`, `draining`, `frame_too_large`). */
  reason?: string;
  /** For `bad_request` on options: the offending field. */
  field?: string;
  /** Further details. */
  [key: string]: unknown;
}

/** Options of the {@link RpcError} constructor. */
export interface RpcErrorOptions {
  /** Structured details. */
  details?: RpcErrorDetails;
  /** The underlying error. */
  cause?: unknown;
  /**
   * `true` when the request certainly did not run on the target (refused while draining, never
   * sent), so retrying it on another node is safe.
   * @default false
   */
  notExecuted?: boolean;
}

/**
 * The error every RPC failure is reported with.
 *
 * @example
 * ```ts
 * try {
 *   await node.call('w1@127.0.0.1', 'Math', 'div', [1, 0]);
 * } catch (err) {
 *   if (err instanceof RpcError && err.code === 'internal_server_error') {
 *     console.log(err.details.remote?.message);
 *   }
 * }
 * ```
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  /** The stable code; see {@link ERROR_CODES}. */
  readonly code: RpcErrorCode;
  /** The HTTP-like status of the code (400, 404, 408, 500, 503). */
  readonly statusCode: number;
  /** Structured details (`node`, `balancer`, `module`, `function`, `remote`, ...). */
  readonly details: RpcErrorDetails;
  /** `true` when the request certainly did not run on its target, so another node may be tried. */
  readonly notExecuted: boolean;

  constructor(code: RpcErrorCode, message: string, options: RpcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.statusCode = ERROR_CODES[code] ?? 500;
    this.details = options.details ?? {};
    this.notExecuted = options.notExecuted ?? false;
  }

  /** `true` when retrying on another node cannot run the request twice. */
  get retryable(): boolean {
    return this.notExecuted;
  }
}

/** `true` for a string that is one of the stable codes. */
export function isRpcErrorCode(value: unknown): value is RpcErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The shape an error takes on the wire. */
export interface WireError {
  code: RpcErrorCode;
  message: string;
  details?: RpcErrorDetails;
  notExecuted?: boolean;
}

/** Turns an {@link RpcError} into its wire form. */
export function toWireError(err: RpcError): WireError {
  return {
    code: err.code,
    message: err.message,
    details: err.details,
    notExecuted: err.notExecuted,
  };
}

/** Rebuilds an {@link RpcError} from its wire form; anything malformed becomes `internal_server_error`. */
export function fromWireError(value: unknown, extra: RpcErrorDetails): RpcError {
  if (typeof value !== 'object' || value === null) {
    return new RpcError('internal_server_error', 'malformed error reply', { details: extra });
  }
  const wire = value as Partial<WireError>;
  const code = isRpcErrorCode(wire.code) ? wire.code : 'internal_server_error';
  const message = typeof wire.message === 'string' ? wire.message : 'remote error';
  const details =
    typeof wire.details === 'object' && wire.details !== null
      ? { ...wire.details, ...extra }
      : extra;
  return new RpcError(code, message, { details, notExecuted: wire.notExecuted === true });
}
