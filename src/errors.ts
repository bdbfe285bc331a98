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

/**
 * Every `details.reason` the library sets, with the code it comes with and when. One table, so
 * callers can branch on reasons with confidence (docs/reference/api.md, "Errors"). A handler
 * may set reasons of its own on the `RpcError`s it throws; those pass through unchanged.
 */
export const ERROR_REASONS = Object.freeze({
  bad_address: { code: 'bad_request', when: '`connect()` got an address that is not "host:port"' },
  unencodable_arguments: {
    code: 'bad_request',
    when: 'the arguments cannot be encoded (a function, a symbol)',
  },
  frame_too_large: {
    code: 'bad_request',
    when: 'the request is over the frame limit (as `internal_server_error`: the result is)',
  },
  bad_meta: {
    code: 'bad_request',
    when: 'the call metadata is not a plain object, has too many keys, a bad key, or a malformed `traceparent`',
  },
  meta_too_large: { code: 'bad_request', when: 'the call metadata encodes to more than 16 KiB' },
  bad_trailer: {
    code: 'bad_request',
    when: 'a handler’s `setTrailer` would break the trailer’s limits (thrown in the handler)',
  },
  undecodable_arguments: {
    code: 'bad_request',
    when: 'a protocol-1 peer sent arguments that do not decode',
  },
  bad_arguments: {
    code: 'bad_request',
    when: 'a protocol-1 peer sent arguments that are not an array',
  },
  invalid_arguments: {
    code: 'bad_request',
    when: 'the arguments do not pass the schema the function was exposed with (`details.issues` lists why)',
  },
  selection_failed: {
    code: 'bad_request',
    when: 'the algorithm refused the selection options (threw a `TypeError` or `RangeError`, e.g. a bad `key`)',
  },
  algorithm_error: {
    code: 'internal_server_error',
    when: 'the algorithm threw anything else, or returned a node that is not a member',
  },
  unencodable_result: {
    code: 'internal_server_error',
    when: 'the handler’s result cannot be encoded',
  },
  no_members: {
    code: 'service_unavailable',
    when: 'the balancer has no members (and waiting is off or timed out)',
  },
  not_enough_members: { code: 'service_unavailable', when: '`waitForMembers(n)` timed out' },
  balancer_stopped: { code: 'service_unavailable', when: 'the balancer was stopped' },
  all_excluded: {
    code: 'service_unavailable',
    when: 'every member is in the selection’s `exclude` list',
  },
  no_matching_node: {
    code: 'service_unavailable',
    when: '`callOnRandomNode` / `castOnRandomNode`: no connected node (nor this one) matches the filter',
  },
  not_connected: {
    code: 'service_unavailable',
    when: 'the target node is not connected (and not being dialled)',
  },
  connection_lost: {
    code: 'service_unavailable',
    when: 'the connection dropped while the call was pending (it may have run)',
  },
  draining: {
    code: 'service_unavailable',
    when: 'the target is closing and refused the call (it did not run)',
  },
  connection_idle: {
    code: 'service_unavailable',
    when: 'the target was closing its connection to the caller for idleness when the call reached it (it did not run); a caller of this release sends the call again over a new connection, so it shows in the target’s serve traces rather than to callers',
  },
  node_closed: { code: 'service_unavailable', when: 'this node was closed or destroyed' },
  send_queue_full: {
    code: 'service_unavailable',
    when: 'too many bytes are waiting to be written to the target (it reads too slowly)',
  },
  listen_failed: {
    code: 'service_unavailable',
    when: '`startNode` could not listen on its host and port',
  },
  discovery_failed: {
    code: 'service_unavailable',
    when: '`startNode`: the discovery backend failed to start (e.g. its client package is not installed)',
  },
  connect_failed: {
    code: 'service_unavailable',
    when: '`connect()` could not reach the address or was refused (wrong cookie, no common protocol version, ...)',
  },
} as const satisfies Record<string, { code: RpcErrorCode; when: string }>);

/** A `details.reason` the library sets; see {@link ERROR_REASONS}. */
export type RpcErrorReason = keyof typeof ERROR_REASONS;

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
  /**
   * A short machine-readable reason: one of {@link ERROR_REASONS} when the library raised the
   * error (e.g. `not_connected`, `connection_lost`, `draining`, `frame_too_large`), or whatever
   * a handler set on an `RpcError` it threw.
   */
  reason?: RpcErrorReason | (string & {});
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
