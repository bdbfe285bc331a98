/**
 * One `lb.cast`: a member selected (waiting for one when allowed), the cast handed to the
 * client, the selection released with how the dispatch went. A cast refused before it was sent
 * is traced as a failed cast: the client traces the casts it sends, so without this an
 * `lb.cast` that never reached it would publish nothing but `select:empty`, and spans and
 * metrics would miss it.
 */
import type { CallOutcome } from '../algorithms/types.js';
import { RpcError } from '../errors.js';
import type { CallMetadata } from '../rpc/envelope.js';
import { type CastTrace, channels, traced, traceSettled, traceStart } from '../tracing.js';
import { selectionOptions } from './call-policy.js';
import type { RunnerParts } from './call-runner.js';
import type { BalancedCallOptions } from './options.js';
import type { Selection } from './selector.js';

/**
 * Selects a member and casts to it; the selection is released once the cast is dispatched.
 * `deadline`: when waiting for a member gives up (`Date.now()` time); `wait`: whether to wait.
 */
export async function castToMember(
  parts: RunnerParts,
  module: string,
  fn: string,
  args: unknown[],
  opts: BalancedCallOptions,
  deadline: number,
  wait: boolean,
): Promise<void> {
  const { host, picker, selector } = parts;
  const { name: balancer, now } = parts.options;
  const { signal, meta } = opts;
  let selection: Selection;
  try {
    const selected = picker.pick(
      selectionOptions(opts),
      deadline,
      signal,
      undefined,
      undefined,
      wait,
    );
    selection = selected instanceof Promise ? await selected : selected;
  } catch (err) {
    if (traced(channels.cast)) traceRefusedCast(host.name, balancer, module, fn, meta, err);
    throw err;
  }
  const started = now();
  try {
    await host.cast(
      selection.node,
      module,
      fn,
      args,
      meta === undefined ? undefined : { meta },
      balancer,
    );
    const at = now();
    selector.release(selection, { ok: true, latencyMs: at - started, at });
  } catch (err) {
    const at = now();
    const outcome: CallOutcome = { ok: false, latencyMs: at - started, at };
    if (err instanceof RpcError) outcome.code = err.code;
    selector.release(selection, outcome);
    if (err instanceof RpcError) err.details.balancer = balancer;
    throw err;
  }
}

/** Publishes the whole trace of a cast refused before it was sent (call only while traced). */
function traceRefusedCast(
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
