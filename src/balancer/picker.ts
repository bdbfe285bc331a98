/**
 * How a balanced call or cast gets its member: at once when one is at hand (the usual case:
 * synchronous, no promise), else after waiting for a member to join, after the probes the
 * algorithm asked for, and on a retry preferring a member not tried yet.
 */
import type { SelectOptions, ServerLoad } from '../algorithms/types.js';
import { RpcError } from '../errors.js';
import { channels, type ProbeMessage } from '../tracing.js';
import { remaining } from './call-policy.js';
import type { Selection, Selector } from './selector.js';

/** How long a probe an algorithm sent on its own (`ctx.probe`) may take before it is dropped. */
export const PROBE_TIMEOUT_MS = 1_000;

/** What a picker needs from its balancer. */
export interface PickerHost {
  /** The node's name and the balancer's, for the probe channel. */
  readonly node: string;
  readonly balancer: string;
  /** With no members, wait for one within the call's timeout. */
  readonly waitForMembers: boolean;
  /** How long a pick waits for the algorithm's probes. */
  readonly probeTimeoutMs: number;
  /** The balancer's clock. */
  now(): number;
  /** `true` once the balancer is stopping. */
  readonly stopping: boolean;
  /** Asks `target` for its load. */
  probe(target: string, timeoutMs: number): Promise<ServerLoad>;
}

export class Picker {
  readonly #host: PickerHost;
  readonly #selector: Selector;
  readonly #memberWaiters = new Set<() => void>();

  constructor(host: PickerHost, selector: Selector) {
    this.#host = host;
    this.#selector = selector;
  }

  /**
   * A selection for a call: synchronous (a selection, or a thrown `RpcError`) unless it has to
   * wait for a member or for probes. `tried`: members that refused earlier attempts. `wait`:
   * with no members, wait for one (the call's own `waitForMembers`, else the balancer's).
   */
  pick(
    opts: SelectOptions,
    deadline: number,
    signal: AbortSignal | undefined,
    tried: string[] | undefined,
    now?: number,
    wait: boolean = this.#host.waitForMembers,
  ): Selection | Promise<Selection> {
    const selector = this.#selector;
    if (this.#host.stopping) throw selector.unavailable('balancer_stopped');
    if (selector.members.length === 0 && !selector.direct) {
      return this.#pickAfterWaiting(opts, deadline, signal, tried, wait);
    }
    signal?.throwIfAborted();
    if (selector.probesBeforePick) {
      const targets = selector.probeTargets(opts, now);
      if (targets.length > 0) return this.#pickAfterProbing(targets, opts, deadline, tried);
    }
    return this.#pickUntried(opts, tried, now);
  }

  /** Waits until the balancer has `count` members (or the deadline, or an abort). */
  waitForMembers(
    deadline: number,
    signal: AbortSignal | undefined,
    reason: 'no_members' | 'not_enough_members' = 'no_members',
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: unknown) => {
        clearTimeout(timer);
        this.#memberWaiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const wake = () => finish();
      const onAbort = () => finish(signal?.reason);
      const timer = setTimeout(
        () => finish(this.#selector.unavailable(reason)),
        remaining(deadline),
      );
      this.#memberWaiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Wakes every call waiting for members (a member joined, or the balancer stops). */
  wakeWaiters(): void {
    for (const wake of [...this.#memberWaiters]) wake();
  }

  /** A probe the algorithm sent on its own (`ctx.probe`): fire and forget. */
  probeForAlgorithm(target: string): void {
    if (typeof target !== 'string' || this.#host.stopping || !this.#selector.isMember(target)) {
      return;
    }
    void this.#probe(target, PROBE_TIMEOUT_MS);
  }

  async #pickAfterWaiting(
    opts: SelectOptions,
    deadline: number,
    signal: AbortSignal | undefined,
    tried: string[] | undefined,
    wait: boolean,
  ): Promise<Selection> {
    const selector = this.#selector;
    while (selector.members.length === 0 && !selector.direct) {
      if (!wait || remaining(deadline) <= 0) throw selector.unavailable('no_members');
      await this.waitForMembers(deadline, signal);
      if (this.#host.stopping) throw selector.unavailable('balancer_stopped');
    }
    return this.pick(opts, deadline, signal, tried, undefined, wait);
  }

  /** Probes `targets` (at most `probeTimeoutMs`, within the call's deadline), then picks. */
  async #pickAfterProbing(
    targets: readonly string[],
    opts: SelectOptions,
    deadline: number,
    tried: string[] | undefined,
  ): Promise<Selection> {
    const timeoutMs = Math.max(1, Math.min(this.#host.probeTimeoutMs, remaining(deadline)));
    await Promise.all(targets.map((target) => this.#probe(target, timeoutMs)));
    const selector = this.#selector;
    if (this.#host.stopping) throw selector.unavailable('balancer_stopped');
    if (selector.members.length === 0) throw selector.unavailable('no_members');
    return this.#pickUntried(opts, tried);
  }

  /** One probe: its answer goes to the algorithm; never rejects. */
  async #probe(target: string, timeoutMs: number): Promise<void> {
    const host = this.#host;
    const started = performance.now();
    let load: ServerLoad | undefined;
    try {
      const answer = await host.probe(target, timeoutMs);
      load = { inFlight: answer.inFlight, elu: answer.elu, at: host.now() };
      this.#selector.deliverProbe(target, load);
    } catch {
      // not answered in time: the pick goes ahead without it
    }
    if (channels.probe.hasSubscribers) {
      const message: ProbeMessage =
        load === undefined
          ? { node: host.node, balancer: host.balancer, target, ok: false }
          : {
              node: host.node,
              balancer: host.balancer,
              target,
              ok: true,
              rttMs: performance.now() - started,
              load,
            };
      channels.probe.publish(message);
    }
  }

  #pickUntried(opts: SelectOptions, tried: string[] | undefined, now?: number): Selection {
    const selector = this.#selector;
    if (tried === undefined) return selector.select(opts, now);
    // A retry excludes the members that refused earlier attempts, so every algorithm moves on
    // (HashRing to the key's next replica); with no other member left, it may go back to one.
    const exclude = opts.exclude === undefined ? tried : [...(opts.exclude as string[]), ...tried];
    try {
      return selector.select({ ...opts, exclude }, now);
    } catch (err) {
      if (!(err instanceof RpcError) || err.details.reason !== 'all_excluded') throw err;
      return selector.select(opts, now);
    }
  }
}
