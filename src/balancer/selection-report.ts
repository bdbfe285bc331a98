/**
 * What a selector reports about its selections: the errors of one that found no member or that
 * the algorithm could not make, rate-limited log lines for a misbehaving algorithm, outlier
 * ejections, and the `select`, `select:empty` and `outlier` tracing channels. Nothing here is on
 * the path of a successful pick unless a channel has subscribers.
 */
import type { SelectionAlgorithm } from '../algorithms/types.js';
import { RpcError, type RpcErrorDetails } from '../errors.js';
import type { Logger } from '../logger.js';
import { describe } from '../options.js';
import {
  channels,
  type EmptySelectionMessage,
  type OutlierMessage,
  type SelectionMessage,
} from '../tracing.js';
import type { OutlierEvent } from './outlier-detector.js';

/** Who reports: the balancer, its node, and where log lines go. */
export interface ReportHost {
  /** The balancer's name. */
  readonly balancer: string;
  /** The node's name. */
  readonly node: string;
  readonly logger: Logger;
}

/** Why a selection found no member (or why the balancer could not select at all). */
export type UnavailableReason =
  | 'no_members'
  | 'not_enough_members'
  | 'balancer_stopped'
  | 'all_excluded';

/** At most one log line per this many ms for a misbehaving algorithm. */
const ALGORITHM_LOG_INTERVAL_MS = 10_000;

/** The algorithm's class name, for diagnostics. */
export function algorithmName(algorithm: SelectionAlgorithm): string {
  return (algorithm as { constructor?: { name?: string } }).constructor?.name ?? 'anonymous';
}

export class SelectionReporter {
  readonly #host: ReportHost;
  readonly #algorithm: SelectionAlgorithm;
  #lastAlgorithmLog = Number.NEGATIVE_INFINITY;

  constructor(host: ReportHost, algorithm: SelectionAlgorithm) {
    this.#host = host;
    this.#algorithm = algorithm;
  }

  /** The `service_unavailable` error for a selection that found no member (or a stopped balancer). */
  unavailable(reason: UnavailableReason, memberCount: number): RpcError {
    if (channels.selectEmpty.hasSubscribers) this.#publishEmpty(reason);
    const name = this.#host.balancer;
    const details: RpcErrorDetails = { balancer: name, reason };
    const message =
      reason === 'balancer_stopped'
        ? `load balancer ${name} is stopped`
        : reason === 'not_enough_members'
          ? `load balancer ${name} has only ${memberCount} members`
          : reason === 'all_excluded'
            ? `load balancer ${name}: every member is excluded from this selection`
            : `load balancer ${name} has no members`;
    return new RpcError('service_unavailable', message, { details, notExecuted: true });
  }

  /**
   * The error for a selection the algorithm could not make. A `TypeError` or `RangeError` says
   * the selection options were unusable (e.g. a bad `key`): `bad_request`. Anything else is a
   * bug in the algorithm: `internal_server_error`. Either way it is logged (rate-limited).
   */
  algorithmFailed(method: string, err: unknown): RpcError {
    const balancer = this.#host.balancer;
    if (err instanceof RpcError) {
      err.details.balancer ??= balancer;
      if (channels.selectEmpty.hasSubscribers) {
        this.#publishEmpty(String(err.details.reason ?? err.code));
      }
      return err;
    }
    this.logAlgorithmError(method, err);
    const message = err instanceof Error ? err.message : describe(err);
    const badInput = err instanceof TypeError || err instanceof RangeError;
    const reason = badInput ? 'selection_failed' : 'algorithm_error';
    if (channels.selectEmpty.hasSubscribers) this.#publishEmpty(reason);
    return new RpcError(
      badInput ? 'bad_request' : 'internal_server_error',
      `selection failed: ${method}() of balancer ${balancer} threw: ${message}`,
      { details: { balancer, reason }, cause: err, notExecuted: true },
    );
  }

  /** Logs what the algorithm's `method` threw, at most once per interval. */
  logAlgorithmError(method: string, err: unknown): void {
    const now = Date.now();
    if (now - this.#lastAlgorithmLog < ALGORITHM_LOG_INTERVAL_MS) return;
    this.#lastAlgorithmLog = now;
    const text = err instanceof Error ? (err.stack ?? err.message) : describe(err);
    this.#host.logger.error(
      `algorithm of load balancer ${this.#host.balancer}: ${method}() threw (further errors within ${ALGORITHM_LOG_INTERVAL_MS / 1000} s are not logged): ${text}`,
    );
  }

  /** A member ejected or back: a log line, and the `outlier` channel. */
  onOutlier(event: OutlierEvent): void {
    const { balancer, node: self, logger } = this.#host;
    if (event.type === 'eject') {
      logger.warn(
        `load balancer ${balancer}: member ${event.node} ejected for ${Math.round(event.durationMs / 1000)} s (${event.reason.replaceAll('_', ' ')}; ejection ${event.timesEjected})`,
      );
    } else {
      logger.info(`load balancer ${balancer}: member ${event.node} back from ejection`);
    }
    if (channels.outlier.hasSubscribers) {
      const { node: member, ...rest } = event;
      channels.outlier.publish({ node: self, balancer, member, ...rest } satisfies OutlierMessage);
    }
  }

  /** Publishes a selection (call only while `select` has subscribers). */
  publishSelection(selected: string, members: number): void {
    channels.select.publish({
      node: this.#host.node,
      balancer: this.#host.balancer,
      algorithm: algorithmName(this.#algorithm),
      selected,
      members,
    } satisfies SelectionMessage);
  }

  #publishEmpty(reason: string): void {
    channels.selectEmpty.publish({
      node: this.#host.node,
      balancer: this.#host.balancer,
      algorithm: algorithmName(this.#algorithm),
      reason,
    } satisfies EmptySelectionMessage);
  }
}
