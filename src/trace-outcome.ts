/**
 * How a traced operation ended, in the few low-cardinality words the observability integrations
 * (`rpc-load-balancer/otel`, `rpc-load-balancer/metrics`) report: `ok`, an `RpcError` code, or
 * `aborted`: by the contract every failure is an `RpcError` except an abort through the caller's
 * signal, which rejects with the signal's reason (any value).
 */
import { RpcError, type RpcErrorCode } from './errors.js';

/** The status of an operation: `ok`, its `RpcError` code, or `aborted`. */
export type OutcomeStatus = 'ok' | RpcErrorCode | 'aborted';

/**
 * Codes that mean the serving node failed, as opposed to the caller asking for something wrong
 * (`bad_request`, `not_found`): only these mark a server-side span as an error.
 */
export const SERVER_FAULT_CODES: ReadonlySet<string> = new Set<RpcErrorCode>([
  'internal_server_error',
  'service_unavailable',
  'request_timeout',
]);

/** The status of a settled traced operation (its context's `error`, if any). */
export function outcomeStatus(ctx: { error?: unknown }): OutcomeStatus {
  const error = ctx.error;
  if (error === undefined) return 'ok';
  return error instanceof RpcError ? error.code : 'aborted';
}
