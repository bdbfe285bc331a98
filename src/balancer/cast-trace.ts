/**
 * A balanced cast that found no member, traced as a failed cast: the client traces the casts it
 * sends, so without this an `lb.cast` that never reached it would publish nothing but
 * `select:empty`, and spans and metrics would miss it.
 */

import { RpcError } from '../errors.js';
import type { CallMetadata } from '../rpc/envelope.js';
import { type CastTrace, channels, traceSettled, traceStart } from '../tracing.js';

/** Publishes the whole trace of a cast refused before it was sent (call only while traced). */
export function traceRefusedCast(
  node: string,
  balancer: string,
  module: string,
  fn: string,
  meta: CallMetadata | undefined,
  err: unknown,
): void {
  const trace: CastTrace = {
    node,
    balancer,
    target: undefined,
    module,
    function: fn,
    meta: { ...meta },
  };
  traceStart(channels.cast, trace);
  if (err instanceof RpcError) trace.code = err.code;
  traceSettled(channels.cast, trace, false, err);
}
