/**
 * A node stand-in for balancer unit tests: an in-memory group table, attempts run through a
 * scripted `callImpl` and ended as the client would end them.
 */
import type { ServerLoad } from '../../src/algorithms/types.js';
import type { BalancerGroupChange, BalancerHost } from '../../src/balancer/load-balancer.js';
import { RpcError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import type { CallOptions, OutgoingCall } from '../../src/rpc/call.js';

export type CallImpl = (target: string, args: unknown[], options: CallOptions) => Promise<unknown>;

/** A node stand-in: an in-memory group table and a scripted `call`. */
export class FakeHost implements BalancerHost {
  readonly name: string;
  readonly callTimeoutMs = 1_000;
  readonly joined = new Map<string, number>();
  readonly calls: { target: string; options: CallOptions }[] = [];
  readonly logged: string[] = [];
  readonly logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (m) => this.logged.push(m),
    error: (m) => this.logged.push(m),
  };
  #members = new Map<string, readonly string[]>();
  #observers = new Set<(c: BalancerGroupChange) => void>();
  callImpl: CallImpl = async (target) => target;

  constructor(name = 'self@h') {
    this.name = name;
  }
  join(group: string) {
    this.joined.set(group, (this.joined.get(group) ?? 0) + 1);
    this.setMembers(group, [...this.members(group), this.name]);
  }
  leave(group: string) {
    this.joined.set(group, (this.joined.get(group) ?? 1) - 1);
    this.setMembers(
      group,
      this.members(group).filter((n) => n !== this.name),
    );
  }
  members(group: string) {
    return this.#members.get(group) ?? Object.freeze([]);
  }
  observe(observer: (c: BalancerGroupChange) => void) {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }
  /** Runs an attempt through `callImpl` and ends it as the client would. */
  send(attempt: OutgoingCall) {
    const options = { timeout: attempt.timeoutMs, signal: attempt.signal };
    this.calls.push({ target: attempt.target, options });
    this.callImpl(attempt.target, attempt.args, options).then(
      (value) => attempt.end(true, value),
      (err: unknown) => {
        attempt.code = err instanceof RpcError ? err.code : undefined;
        attempt.end(false, err);
      },
    );
  }
  probe(_target: string, _timeoutMs: number): Promise<ServerLoad> {
    return Promise.reject(new RpcError('service_unavailable', 'no probes here'));
  }
  cast(target: string) {
    this.calls.push({ target, options: {} });
    return Promise.resolve();
  }
  /** Replaces a group's members, telling observers what joined and left. */
  setMembers(group: string, nodes: string[]) {
    const before = this.members(group);
    const after = Object.freeze([...new Set(nodes)].sort());
    this.#members.set(group, after);
    const joined = after.filter((n) => !before.includes(n));
    const left = before.filter((n) => !after.includes(n));
    for (const o of this.#observers) {
      if (left.length) o({ group, type: 'leave', nodes: left });
      if (joined.length) o({ group, type: 'join', nodes: joined });
    }
  }
}
