/**
 * Process groups replicated between connected nodes (the `:pg` counterpart).
 *
 * Each node is the only authority on its own memberships: it sends its full local state to a
 * peer when their connection comes up and each change as it happens (absolute counts, so a
 * repeated message cannot drift); everything a peer owned is dropped at once when it goes down.
 * Messages are applied only from a peer's current connection, so nothing from a replaced or
 * closed connection can resurrect a membership.
 */
import { callContained, describeThrown } from '../contained.js';
import { publishGroupChange } from '../diagnostics.js';
import type { Logger } from '../logger.js';
import { decodeValue, encodeValue } from '../rpc/codec.js';
import type { Connection } from '../transport/connection.js';
import { buildFrame } from '../transport/frames.js';
import { MessageType } from '../transport/message-types.js';
import { type GroupChange, MembershipTable } from './table.js';

/** A change to a group's members, as monitors receive it. */
export interface GroupEvent {
  /** Whether `nodes` joined or left the group. */
  type: 'join' | 'leave';
  /** The nodes that joined or left. */
  nodes: readonly string[];
}

/** Called once per change of a monitored group, never synchronously inside `join` / `leave`. */
export type GroupListener = (event: GroupEvent) => void;

/** What the groups layer needs from the node. */
export interface GroupsHost {
  readonly logger: Logger;
  /** Ready connections, for broadcasting. */
  connections(): Iterable<Connection>;
  /** The current ready connection to `peer`. */
  connection(peer: string): Connection | undefined;
}

/** Process groups, as `node.groups`. */
export interface Groups {
  /** Joins `group`. Joining twice counts twice: the node stays a member until it leaves twice. */
  join(group: string): void;
  /** Leaves `group` once; a no-op when not joined. */
  leave(group: string): void;
  /** Distinct member node names, sorted, self included if joined (a frozen array). */
  members(group: string): readonly string[];
  /** Group names with at least one member, sorted. */
  list(): string[];
  /** Watches `group`; returns the function that stops watching. */
  monitor(group: string, listener: GroupListener): () => void;
}

export class GroupReplicator implements Groups {
  readonly #host: GroupsHost;
  readonly #table: MembershipTable;
  readonly #monitors = new Map<string, Set<GroupListener>>();
  /** Internal observers, told synchronously (balancers keep their counters exact with this). */
  readonly #observers = new Set<(change: GroupChange) => void>();

  constructor(selfName: string, host: GroupsHost) {
    this.#table = new MembershipTable(selfName);
    this.#host = host;
  }

  join(group: string): void {
    const changes = this.#table.joinLocal(group);
    this.#broadcastDelta(group);
    this.#publish(changes);
  }

  leave(group: string): void {
    if (typeof group !== 'string' || this.#table.localCount(group) === 0) return;
    const changes = this.#table.leaveLocal(group);
    this.#broadcastDelta(group);
    this.#publish(changes);
  }

  members(group: string): readonly string[] {
    return this.#table.members(group);
  }

  list(): string[] {
    return this.#table.groups();
  }

  /** How many times this node joined `group`. */
  localCount(group: string): number {
    return this.#table.localCount(group);
  }

  monitor(group: string, listener: GroupListener): () => void {
    if (typeof group !== 'string' || group.length === 0) {
      throw new TypeError(`monitor: group must be a non-empty string, received ${String(group)}`);
    }
    if (typeof listener !== 'function') throw new TypeError('monitor: listener must be a function');
    let set = this.#monitors.get(group);
    if (!set) this.#monitors.set(group, (set = new Set()));
    // Wrap so the same function can monitor twice and each unsubscribe removes one.
    const entry: GroupListener = (event) => listener(event);
    set.add(entry);
    return () => {
      set.delete(entry);
      if (set.size === 0 && this.#monitors.get(group) === set) this.#monitors.delete(group);
    };
  }

  /** @internal Synchronous observer of every change (for balancers). */
  observe(observer: (change: GroupChange) => void): () => void {
    this.#observers.add(observer);
    return () => this.#observers.delete(observer);
  }

  /** The groups `node` is known to be a member of, sorted. */
  groupsOf(node: string): string[] {
    return this.#table.groupsOf(node);
  }

  /** This node's groups with its join counts (what discovery registers). */
  localState(): Record<string, number> {
    return this.#table.localState();
  }

  /** A peer's connection is ready: tell it everything this node is a member of. */
  onPeerUp(conn: Connection): void {
    conn.send(buildFrame(MessageType.GroupSync, encodeValue(this.#table.localState())));
  }

  /** A peer is gone: drop all it owned at once. */
  onPeerDown(peer: string): void {
    this.#publish(this.#table.dropPeer(peer));
  }

  /**
   * Replaces what `peer` is known to be a member of with `state`, as a discovery backend reports
   * it for a node that is not connected (`connections: 'on-demand'`).
   */
  applyReported(peer: string, state: Readonly<Record<string, number>>): void {
    this.#publish(this.#table.applySync(peer, state as Record<string, number>));
  }

  /** A group message from `conn`. */
  onMessage(conn: Connection, type: number, frame: Buffer): void {
    const peer = conn.peerName;
    if (!peer || this.#host.connection(peer) !== conn) return;
    let body: unknown;
    try {
      body = decodeValue(frame.subarray(1));
    } catch {
      this.#host.logger.warn(`unreadable group message from ${peer} ignored`);
      return;
    }
    if (type === MessageType.GroupSync) {
      this.#publish(this.#table.applySync(peer, body as Record<string, number>));
    } else if (Array.isArray(body) && typeof body[0] === 'string' && typeof body[1] === 'number') {
      this.#publish(this.#table.applyDelta(peer, body[0], body[1]));
    }
  }

  #broadcastDelta(group: string): void {
    const frame = buildFrame(
      MessageType.GroupDelta,
      encodeValue([group, this.#table.localCount(group)]),
    );
    for (const conn of this.#host.connections()) conn.send(frame);
  }

  /**
   * Tells observers now and monitors in a microtask. The listeners of each change are fixed
   * here, when the change happens: one that subscribes later (members() already showing the
   * change) must not hear of it, and one that unsubscribes before delivery hears nothing more.
   */
  #publish(changes: GroupChange[]): void {
    if (changes.length === 0) return;
    for (const change of changes) {
      // Observers are the node's own balancers; still, one that throws must neither skip the
      // others nor reach the socket handler that applied the change.
      for (const observer of this.#observers) {
        callContained(observer, undefined, [change], (err) =>
          this.#host.logger.error(
            `observer of group "${change.group}" threw: ${describeThrown(err)}`,
          ),
        );
      }
      publishGroupChange(() => ({ node: this.#table.selfName, ...change }));
    }
    const deliveries: { group: string; event: GroupEvent; listeners: GroupListener[] }[] = [];
    for (const change of changes) {
      const listeners = this.#monitors.get(change.group);
      if (!listeners) continue;
      const event: GroupEvent = { type: change.type, nodes: change.nodes };
      deliveries.push({ group: change.group, event, listeners: [...listeners] });
    }
    if (deliveries.length > 0) queueMicrotask(() => this.#deliver(deliveries));
  }

  #deliver(deliveries: { group: string; event: GroupEvent; listeners: GroupListener[] }[]): void {
    for (const { group, event, listeners } of deliveries) {
      for (const listener of listeners) {
        if (!this.#monitors.get(group)?.has(listener)) continue;
        callContained(listener, undefined, [event], (err) =>
          this.#host.logger.error(`monitor of group "${group}" threw: ${describeThrown(err)}`),
        );
      }
    }
  }
}
