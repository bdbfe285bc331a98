/**
 * An in-memory discovery backend for nodes in one process, carrying groups as etcd and Redis
 * do: every node registers `{ name, address, incarnation, groups }`, re-registers when its
 * groups change, and every host is sent the whole view on each change. A node that is
 * destroyed without deregistering (`crash`) keeps its entry, as a crashed node's lease does
 * until it expires.
 */
import type { DiscoveredNode, Discovery, DiscoveryHost } from '../../src/index.js';

export class MemoryRegistry {
  readonly entries = new Map<string, DiscoveredNode>();
  readonly #hosts = new Map<string, DiscoveryHost>();
  /** While paused, nothing is published (a slow or absent backend). */
  paused = false;

  /** A backend for one node (give it as `discovery: () => registry.discovery()`). */
  discovery = (): Discovery => {
    let mine: DiscoveryHost | undefined;
    const register = () => {
      if (!mine) return;
      this.entries.set(mine.name, {
        name: mine.name,
        address: mine.address,
        incarnation: mine.incarnation,
        groups: { ...mine.groups() },
      });
      this.publish();
    };
    return {
      kind: 'memory',
      peerExchange: false,
      carriesGroups: true,
      start: (host) => {
        mine = host;
        this.#hosts.set(host.name, host);
        register();
      },
      groupsChanged: register,
      stop: () => {
        if (!mine) return;
        this.#hosts.delete(mine.name);
        // A graceful stop deregisters; `crash()` removes the host first, so the entry stays.
        if (!this.#crashed.has(mine.name)) this.entries.delete(mine.name);
        this.publish();
      },
    };
  };

  readonly #crashed = new Set<string>();

  /** Marks `name` as crashing: its next stop leaves its entry behind. */
  crash(name: string): void {
    this.#crashed.add(name);
  }

  /** Removes `name`'s entry (its lease expired). */
  expire(name: string): void {
    this.entries.delete(name);
    this.#crashed.delete(name);
    this.publish();
  }

  publish(): void {
    if (this.paused) return;
    for (const host of this.#hosts.values()) host.update([...this.entries.values()]);
  }
}
