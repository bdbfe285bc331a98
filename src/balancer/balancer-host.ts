/**
 * What a balancer needs from its node: the seam `node.ts` fills in (group membership, the RPC
 * client's send, cast and probe). Tests give a balancer a fake of it.
 */
import type { ServerLoad } from '../algorithms/types.js';
import type { Logger } from '../logger.js';
import type { OutgoingCall } from '../rpc/call.js';
import type { CastOptions } from '../rpc/cast.js';

/** A group change as the balancer observes it. */
export interface BalancerGroupChange {
  group: string;
  type: 'join' | 'leave';
  nodes: readonly string[];
}

/** What a balancer needs from its node. */
export interface BalancerHost {
  readonly name: string;
  readonly callTimeoutMs: number;
  readonly logger: Logger;
  /** The node's `excludedNodePatterns` (for `nodeMatchList`). @default [] */
  readonly excludedNodePatterns?: readonly string[];
  join(group: string): void;
  leave(group: string): void;
  members(group: string): readonly string[];
  /** Synchronous observer of group changes; returns the unsubscribe function. */
  observe(observer: (change: BalancerGroupChange) => void): () => void;
  /** Hands an attempt to the RPC client (it ends through `attempt.end`). */
  send(attempt: OutgoingCall): void;
  /** Casts to `target`; `balancer` names this balancer in the cast's trace. */
  cast(
    target: string,
    module: string,
    fn: string,
    args: unknown[],
    options: CastOptions | undefined,
    balancer: string,
  ): Promise<void>;
  /** Asks `target` for its load (see `RpcClient.probe`). */
  probe(target: string, timeoutMs: number): Promise<ServerLoad>;
}
