/**
 * How `lb.call` treats a call: which options reach the algorithm, how long each attempt may
 * take, and which failures may be retried on another node. Pure functions, no state.
 */
import type { SelectOptions } from '../algorithms/types.js';
import { RpcError } from '../errors.js';
import { describe } from '../options.js';
import type { BalancedCallOptions } from './options.js';

/** The shared empty options object (no allocation when a caller passes none). */
export const NO_OPTIONS: SelectOptions = Object.freeze({});

/**
 * What the algorithm sees of a call's options: the caller's own object when it carries no
 * call-only field (no copy on the hot path), else a copy without `timeout`, `signal`,
 * `idempotent`, `meta`, `onTrailer` and `waitForMembers`.
 */
export function selectionOptions(opts: BalancedCallOptions): SelectOptions {
  if (
    opts === NO_OPTIONS ||
    (opts.timeout === undefined &&
      opts.signal === undefined &&
      opts.idempotent === undefined &&
      opts.meta === undefined &&
      opts.onTrailer === undefined &&
      opts.waitForMembers === undefined)
  ) {
    return opts;
  }
  const {
    timeout: _t,
    signal: _s,
    idempotent: _i,
    meta: _m,
    onTrailer: _o,
    waitForMembers: _w,
    ...rest
  } = opts;
  return rest;
}

/**
 * The timeout for one attempt: the caller's own value while (almost) none of it is used up, so
 * calls keep sharing one deadline lane in the client; what remains of it on retries.
 */
export function attemptTimeout(callTimeout: number, deadline: number): number {
  const left = remaining(deadline);
  return callTimeout - left <= 2 ? callTimeout : left;
}

export function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

/** A call that certainly did not run may go to another node; one that may have run only if idempotent. */
export function retryable(err: RpcError, idempotent: boolean): boolean {
  if (err.code !== 'service_unavailable' && !(idempotent && err.code === 'request_timeout'))
    return false;
  return err.notExecuted || idempotent;
}

export function randomDistinct(
  members: readonly string[],
  count: number,
  random: () => number,
): string[] {
  const pool = [...members];
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as string, pool[i] as string];
  }
  return pool.slice(0, n);
}

/**
 * What is wrong with the nodes an algorithm's `chooseNodes` returned for `selectNodes`, or
 * `undefined` when they are what the contract promises: an array of at most `count` distinct
 * names, each one of the `members` it was asked to choose from.
 */
export function badChosenNodes(
  nodes: unknown,
  members: readonly string[],
  count: number,
): string | undefined {
  if (!Array.isArray(nodes)) return `returned ${describe(nodes)}, not an array`;
  if (nodes.length > count) return `returned ${nodes.length} nodes for ${count} asked`;
  const allowed = new Set(members);
  const seen = new Set<unknown>();
  for (const node of nodes) {
    if (typeof node !== 'string' || !allowed.has(node)) {
      return `returned ${describe(node)}, which is not a member`;
    }
    if (seen.has(node)) return `returned ${describe(node)} twice`;
    seen.add(node);
  }
  return undefined;
}

/** A call's `waitForMembers`, checked: the balancer's when absent, `bad_request` when not a boolean. */
export function checkWaitForMembers(value: unknown, balancerDefault: boolean): boolean | RpcError {
  if (value === undefined) return balancerDefault;
  if (typeof value === 'boolean') return value;
  return new RpcError(
    'bad_request',
    `option "waitForMembers" must be a boolean, received ${describe(value)}`,
    { details: { field: 'waitForMembers' }, notExecuted: true },
  );
}
