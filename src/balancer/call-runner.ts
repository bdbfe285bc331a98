/**
 * How `lb.call` is set up: the `CallRunner` a balancer's calls run with (its picker, the
 * client, the release of each selection, the retry budget and the retry channel), and each
 * call's spec, checked from its options. Built once per balancer (the runner, the spec of a call
 * without options) or only for a call that has options: nothing extra per call.
 */
import { RpcError } from '../errors.js';
import { checkCallOptions } from '../rpc/call.js';
import { channels, type RetryMessage } from '../tracing.js';
import type { Attempt, BalancedCallSpec, CallRunner } from './balanced-call.js';
import type { BalancerHost } from './balancer-host.js';
import { checkWaitForMembers, NO_OPTIONS, selectionOptions } from './call-policy.js';
import type { BalancedCallOptions, ResolvedBalancerOptions } from './options.js';
import type { Picker } from './picker.js';
import type { RetryBudget } from './retry-budget.js';
import type { Selector } from './selector.js';

/** What a balancer's runner is made from. */
export interface RunnerParts {
  readonly host: BalancerHost;
  readonly options: ResolvedBalancerOptions;
  readonly picker: Picker;
  readonly selector: Selector;
  /** `undefined`: retries are not limited. */
  readonly budget: RetryBudget | undefined;
  /** A call settled (the balancer counts its calls in flight). */
  readonly settled: () => void;
}

/** The runner of a balancer's calls. */
export function makeCallRunner(parts: RunnerParts): CallRunner {
  const { host, options, picker, selector, budget } = parts;
  const name = options.name;
  return {
    name,
    node: host.name,
    maxAttempts: options.maxAttempts,
    now: options.now,
    select: (call, now) =>
      picker.pick(
        call.spec.selectOpts,
        call.deadline,
        call.spec.signal,
        call.tried,
        now,
        call.spec.waitForMembers,
      ),
    send: (attempt: Attempt) => host.send(attempt),
    release: (selection, outcome, now) => selector.release(selection, outcome, now),
    mayRetry: (attempt, err) => mayRetry(budget, host.name, name, attempt, err),
    settled: parts.settled,
  };
}

/** Takes a retry from the budget (always allowed without one); tells the retry channel. */
function mayRetry(
  budget: RetryBudget | undefined,
  node: string,
  balancer: string,
  attempt: Attempt,
  err: RpcError,
): boolean {
  const allowed = budget === undefined || budget.tryWithdraw();
  if (channels.retry.hasSubscribers) {
    channels.retry.publish({
      node,
      balancer,
      module: attempt.module,
      function: attempt.fn,
      attempt: attempt.parent.attempts,
      target: attempt.target,
      code: err.code,
      allowed,
    } satisfies RetryMessage);
  }
  return allowed;
}

/** What a call with no options runs with (one frozen object per balancer). */
export function defaultCallSpec(callTimeoutMs: number, waitForMembers: boolean): BalancedCallSpec {
  return Object.freeze({
    selectOpts: NO_OPTIONS,
    timeout: callTimeoutMs,
    signal: undefined,
    idempotent: false,
    meta: undefined,
    onTrailer: undefined,
    waitForMembers,
  });
}

/**
 * The spec of a call with options, or the `bad_request` that refuses them. `callTimeoutMs` and
 * `waitForMembers`: the defaults (the node's call timeout, the balancer's option).
 */
export function callSpec(
  opts: BalancedCallOptions,
  callTimeoutMs: number,
  waitForMembers: boolean,
  balancer: string,
  module: string,
  fn: string,
): BalancedCallSpec | RpcError {
  const checked = checkCallOptions(opts, callTimeoutMs, { balancer, module, function: fn });
  if (checked instanceof RpcError) return checked;
  const wait = checkWaitForMembers(opts.waitForMembers, waitForMembers);
  if (wait instanceof RpcError) return withCall(wait, balancer, module, fn);
  return {
    selectOpts: selectionOptions(opts),
    timeout: checked.timeout,
    signal: checked.signal,
    idempotent: opts.idempotent === true,
    meta: checked.meta,
    onTrailer: checked.onTrailer,
    waitForMembers: wait,
  };
}

/** `err` with the balancer, module and function in its details. */
export function withCall(err: RpcError, balancer: string, module: string, fn: string): RpcError {
  Object.assign(err.details, { balancer, module, function: fn });
  return err;
}
