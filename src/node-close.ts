/**
 * A node's graceful close within one budget (`node.close({ drainTimeoutMs })`): balancers leave
 * their groups and the server refuses new calls at once; the balancers' and the server's calls
 * in flight drain side by side until the budget, less the goodbye's share, is spent; then
 * pending calls fail, the goodbye gets the rest, and connections still open are dropped.
 */
import type { Logger } from './logger.js';
import { CLOSE_OPTION_NAMES, type CloseOptions } from './node-types.js';
import { findUnknownOption } from './option-names.js';
import { MAX_TIMEOUT_MS, optionError } from './options.js';

/**
 * The share of a close budget kept for the goodbye, at most: the goodbye gets whatever the
 * drain leaves, and at least this much (one round trip on a LAN takes far less).
 */
const GOODBYE_RESERVE_MS = 500;

/** What the close sequence works on: the parts of a node, each seen through what it does here. */
export interface ClosingNode {
  readonly logger: Logger;
  /** Stops the balancers, each waiting at most `budgetMs` for its calls in flight. */
  stopBalancers(budgetMs: number): Promise<void>[];
  readonly discovery: { stop(budgetMs: number): Promise<void> };
  readonly groups: {
    list(): readonly string[];
    localCount(group: string): number;
    leave(group: string): void;
  };
  readonly server: {
    readonly inFlight: number;
    startDraining(): void;
    waitIdle(timeoutMs: number): Promise<boolean>;
    stopLoadSampling(): void;
  };
  readonly transport: { close(): Promise<void>; destroy(): Promise<void> };
  /** Fails the calls still pending and stops making connections: nothing more will go out. */
  dropPending(): void;
}

/** The budget of `node.close(options)`, or the error naming the bad option. */
export function closeBudget(options: CloseOptions, nodeDefault: number): number | Error {
  if (typeof options === 'object' && options !== null) {
    const unknown = findUnknownOption(options, CLOSE_OPTION_NAMES);
    if (unknown) return new TypeError(unknown.message);
  }
  const drainTimeoutMs = options?.drainTimeoutMs ?? nodeDefault;
  if (
    typeof drainTimeoutMs !== 'number' ||
    !(drainTimeoutMs >= 0 && drainTimeoutMs <= MAX_TIMEOUT_MS)
  ) {
    return optionError(
      'drainTimeoutMs',
      `a number of ms from 0 to ${MAX_TIMEOUT_MS}`,
      drainTimeoutMs,
    );
  }
  return drainTimeoutMs;
}

/** Closes `node` within `budgetMs` (see the module's comment). */
export async function closeGracefully(node: ClosingNode, budgetMs: number): Promise<void> {
  const deadline = performance.now() + budgetMs;
  const drainDeadline = deadline - Math.min(GOODBYE_RESERVE_MS, budgetMs / 10);
  const until = (time: number) => Math.max(0, time - performance.now());
  const stopping = Promise.allSettled([
    ...node.stopBalancers(until(drainDeadline)),
    // Deregistered first, so that nodes joining meanwhile do not dial a node on its way out.
    node.discovery.stop(until(drainDeadline)),
  ]);
  const groups = node.groups;
  for (const group of groups.list()) {
    for (let n = groups.localCount(group); n > 0; n--) groups.leave(group);
  }
  node.server.startDraining();
  const [, drained] = await Promise.all([stopping, node.server.waitIdle(until(drainDeadline))]);
  if (!drained) {
    node.logger.warn(
      `closing with ${node.server.inFlight} calls still running after the drain budget of ${budgetMs} ms`,
    );
  }
  node.dropPending();
  node.server.stopLoadSampling();
  if (!(await settlesWithin(node.transport.close(), until(deadline)))) {
    node.logger.warn(
      `goodbye not acknowledged within the close budget of ${budgetMs} ms; dropping the connections left`,
    );
    await node.transport.destroy();
  }
}

/** Resolves `true` once `promise` settles, or `false` after `ms`. */
function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}
