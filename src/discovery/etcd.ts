/**
 * `rpc-load-balancer/discovery/etcd`: discovery through etcd with the `etcd3` client (an
 * optional peer dependency, loaded when a node starts). Each node puts
 * `{ name, address, incarnation, groups }` under `prefix + name`, attached to a lease whose TTL
 * is its heartbeat timeout, and keeps the lease alive; it puts it again (same lease) when its
 * groups change. Every node watches the prefix, so a join, a change of groups or a graceful
 * leave is seen as soon as etcd sends the event, and a crashed node's entry goes when its lease
 * expires. A node puts its own entry back when another writer deletes or overwrites it, unless
 * another live registration of its name holds it (then it warns instead of fighting over it).
 * A read after a break holds what it lacks a while (`BackendView`), as etcd may be back empty.
 *
 * ```ts
 * import { startNode } from 'rpc-load-balancer';
 * import { etcdDiscovery } from 'rpc-load-balancer/discovery/etcd';
 * const node = await startNode({ discovery: () => etcdDiscovery({ hosts: 'http://etcd:2379' }) });
 * ```
 */
import type { Etcd3, Lease, Watcher } from 'etcd3';
import { Backoff } from '../transport/backoff.js';
import {
  type EtcdDiscoveryOptions,
  leaseTtlSeconds,
  type ResolvedEtcdOptions,
  resolveEtcdOptions,
} from './etcd-options.js';
import {
  BackendView,
  decodeEntry,
  EntryReader,
  holdMs,
  importOptional,
  messageOf,
  OutageLog,
  OwnEntry,
  sleep,
} from './registry.js';
import type { DiscoveredNode, Discovery, DiscoveryHost } from './types.js';

export {
  DEFAULT_ETCD_PREFIX,
  type EtcdDiscoveryOptions,
  leaseTtlSeconds,
} from './etcd-options.js';

/**
 * Discovery through etcd: registers this node under `prefix` with a lease of
 * {@link leaseTtlSeconds}(heartbeatTimeoutMs), watches the prefix, and reports every entry
 * under it, with their groups. While etcd cannot be reached the last view stays; when it is
 * back, the node registers again (a new lease if the old one expired, with its groups as they
 * are then) and reads the whole prefix again before watching it anew. `startNode` waits for the first registration and read for at most
 * `heartbeatTimeoutMs`, then goes on trying in the background.
 */
export function etcdDiscovery(options: EtcdDiscoveryOptions): Discovery {
  const config = resolveEtcdOptions(options);
  let session: EtcdSession | undefined;
  return {
    kind: 'etcd',
    peerExchange: config.peerExchange,
    carriesGroups: true,
    groupsChanged: () => session?.groupsChanged(),
    async start(host) {
      const { Etcd3 } = await importOptional(
        'etcd3',
        'rpc-load-balancer/discovery/etcd',
        () => import('etcd3'),
      );
      session = new EtcdSession(config, host, Etcd3);
      await session.start();
    },
    stop: () => session?.stop(),
  };
}

/** One node's registration and watch. */
class EtcdSession {
  readonly #config: ResolvedEtcdOptions;
  readonly #host: DiscoveryHost;
  readonly #client: Etcd3;
  readonly #ttl: number;
  readonly #outage: OutageLog;
  readonly #entry: OwnEntry;
  readonly #reader: EntryReader;
  /** The view: key → node, and what a read after a break lacked (etcd back empty), a while. */
  readonly #view: BackendView;
  #lease: Lease | undefined;
  /** The ID of `#lease`, to tell this node's own entry from another registration of its name. */
  #leaseId: string | undefined;
  /** Set when this node's entry went from etcd while its lease lives: the write loop puts it again. */
  #entryGone = false;
  /** The incarnation of the last other registration of this node's name warned about. */
  #rival: string | undefined;
  #watcher: Watcher | undefined;
  /** Counts the changes of this node's groups; `#written` is the count the entry in etcd has. */
  #changes = 0;
  #written = 0;
  /** The one loop writing this node's entry, while one runs. */
  #writer: Promise<void> | undefined;
  /** Bumped by every sync, so an older one still running knows it was overtaken. */
  #syncs = 0;
  #stopped = false;

  constructor(config: ResolvedEtcdOptions, host: DiscoveryHost, Client: typeof Etcd3) {
    this.#config = config;
    this.#host = host;
    this.#ttl = leaseTtlSeconds(host.heartbeatTimeoutMs);
    this.#outage = new OutageLog('etcd', host.logger);
    this.#entry = new OwnEntry('etcd', host);
    this.#reader = new EntryReader('etcd', host.logger);
    // The etcd3 client stops trying for 5 s after repeated failures, and the put loop backs off
    // up to 2 s: the other nodes may register again that long after etcd is back.
    const reconnectMs = 7_000;
    this.#view = new BackendView(holdMs(host.heartbeatTimeoutMs, reconnectMs), () =>
      this.#report(),
    );
    const deadlineMs = 2_000 * this.#ttl;
    this.#client = new Client({
      // A call to an etcd that is frozen must fail, so the loops below try again.
      defaultCallOptions: (context) =>
        context.isStream ? {} : { deadline: Date.now() + deadlineMs },
      faultHandling: { watchBackoff: cappedBackoff(100, 2_000) },
      ...config.client,
      hosts: config.hosts,
    });
  }

  get #key(): string {
    return `${this.#config.prefix}${this.#host.name}`;
  }

  /** Registers and reads the prefix, waiting at most the heartbeat timeout for both. */
  async start(): Promise<void> {
    const ready = Promise.all([this.#write(), this.#sync()]);
    await Promise.race([ready, sleep(this.#host.heartbeatTimeoutMs)]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#view.stop();
    const watcher = this.#watcher;
    this.#watcher = undefined;
    watcher?.removeAllListeners();
    watcher?.cancel().catch(() => {});
    try {
      // Revoking deletes the entry at once: peers forget this node without waiting for the TTL.
      await this.#lease?.revoke();
    } catch (err) {
      this.#host.logger.debug(`etcd: revoking the lease failed: ${messageOf(err)}`);
    } finally {
      this.#client.close();
    }
  }

  /** This node's groups changed: puts its entry again, under the same lease. */
  groupsChanged(): void {
    this.#changes++;
    void this.#write();
  }

  /**
   * Puts this node's entry until etcd holds it under a live lease with the latest groups. One
   * loop at a time: a change or a lost lease during a put makes the running loop put again, so
   * overlapping requests end with the latest state.
   */
  #write(): Promise<void> {
    this.#writer ??= this.#writeLoop().finally(() => {
      this.#writer = undefined;
      // A change that came as the loop was ending: write it.
      if (this.#mustWrite()) void this.#write();
    });
    return this.#writer;
  }

  #mustWrite(): boolean {
    return (
      !this.#stopped &&
      (this.#lease === undefined || this.#written !== this.#changes || this.#entryGone)
    );
  }

  async #writeLoop(): Promise<void> {
    const backoff = new Backoff(100, 2_000);
    while (this.#mustWrite()) {
      const changes = this.#changes;
      const current = this.#lease;
      // A lease also fails to be granted when etcd is down: the error is handled below.
      const lease = current ?? this.#grant();
      const gone = this.#entryGone;
      // Cleared before the put, so a deletion seen while it runs makes the loop put again.
      this.#entryGone = false;
      try {
        await lease.put(this.#key).value(JSON.stringify(this.#entry.fields()));
        this.#written = changes;
        if (current === undefined) this.#adopt(lease, await lease.grant());
        else this.#outage.ok();
      } catch (err) {
        this.#entryGone ||= gone;
        if (current === undefined) {
          lease.removeAllListeners('lost');
          lease.release();
        }
        this.#outage.failed('registering', err, this.#view.size);
        await sleep(backoff.next());
      }
    }
  }

  #grant(): Lease {
    const lease = this.#client.lease(this.#ttl);
    lease.on('lost', (err) => this.#leaseLost(lease, err));
    return lease;
  }

  /** A new lease holds the entry: keep it, unless stopped meanwhile (then revoke it). */
  #adopt(lease: Lease, id: string): void {
    if (this.#stopped) {
      lease.revoke().catch(() => {});
      return;
    }
    this.#lease = lease;
    this.#leaseId = id;
    this.#outage.ok();
  }

  /**
   * The lease expired or etcd forgot it (it was down for longer than the TTL, or restarted
   * without its data): register again, and read the prefix again, which may have been reset.
   */
  #leaseLost(lease: Lease, err: unknown): void {
    if (this.#stopped || this.#lease !== lease) return;
    this.#lease = undefined;
    this.#outage.failed('keeping the lease alive', err, this.#view.size);
    void this.#write().then(() => this.#sync());
  }

  /**
   * Reads the whole prefix, reports it, then watches from the revision read: the watch then
   * misses nothing, whatever happened while it was away (compaction, a restarted etcd whose
   * revisions started again). Retried until it succeeds; a newer sync supersedes it.
   */
  async #sync(): Promise<void> {
    const run = ++this.#syncs;
    const backoff = new Backoff(100, 2_000);
    while (!this.#stopped && run === this.#syncs) {
      try {
        const res = await this.#client.getAll().prefix(this.#config.prefix).exec();
        if (this.#stopped || run !== this.#syncs) return;
        const read = new Map<string, DiscoveredNode>();
        for (const kv of res.kvs) {
          const key = kv.key.toString();
          const node = this.#reader.read(key, kv.value.toString());
          if (node) read.set(key, node);
        }
        // Every read but the first follows a break: what it lacks may not have registered again yet.
        this.#view.replace(read, true);
        this.#report();
        // Only with no put of its own under way, which the read may have missed.
        if (this.#writer === undefined) {
          const own = res.kvs.find((kv) => kv.key.toString() === this.#key);
          if (own) this.#ownEntryWritten(own.value.toString(), own.lease);
          else this.#ownEntryGone('missing');
        }
        this.#outage.ok();
        await this.#watch(BigInt(res.header.revision) + 1n, run);
        return;
      } catch (err) {
        this.#outage.failed('reading the prefix', err, this.#view.size);
        await sleep(backoff.next());
      }
    }
  }

  async #watch(fromRevision: bigint, run: number): Promise<void> {
    const watcher = await this.#client
      .watch()
      .prefix(this.#config.prefix)
      .startRevision(fromRevision.toString())
      .create();
    // Stopped, or a newer sync began meanwhile: that one watches.
    if (this.#stopped || run !== this.#syncs) {
      await watcher.cancel().catch(() => {});
      return;
    }
    const old = this.#watcher;
    old?.removeAllListeners();
    old?.cancel().catch(() => {});
    this.#watcher = watcher;
    let disconnected = false;
    watcher.on('put', (kv) => {
      const key = kv.key.toString();
      const value = kv.value.toString();
      if (key === this.#key) this.#ownEntryWritten(value, kv.lease);
      this.#put(key, value);
      this.#report();
    });
    watcher.on('delete', (kv) => {
      const key = kv.key.toString();
      if (key === this.#key) this.#ownEntryGone('deleted');
      if (this.#view.delete(key)) this.#report();
    });
    watcher.on('disconnected', (err: unknown) => {
      disconnected = true;
      this.#outage.failed('watching', err, this.#view.size);
    });
    // Back after a break: read everything again rather than trust a resumed revision.
    watcher.on('connected', () => {
      if (disconnected && this.#watcher === watcher) void this.#sync();
    });
    watcher.on('error', (err: unknown) => {
      this.#outage.failed('watching', err, this.#view.size);
      if (this.#watcher === watcher) void this.#sync();
    });
  }

  /**
   * This node's key was written. Another live registration of its name (another lease, another
   * incarnation: a second process with the same name) is left alone with a warning, as two nodes
   * putting in turn would never settle; anything else but its own entry is put back.
   */
  #ownEntryWritten(value: string, lease: string): void {
    if (this.#stopped || this.#lease === undefined) return;
    const node = decodeEntry(value);
    const { address, incarnation, name } = this.#host;
    if (node?.address === address && node.incarnation === incarnation) return;
    const rival = node?.name === name ? node.incarnation : undefined;
    if (rival !== undefined && lease !== '0' && lease !== this.#leaseId) {
      if (rival !== this.#rival) {
        this.#rival = rival;
        this.#host.logger.warn(
          `etcd: another node registers as ${name} (at ${node?.address}); node names must be unique in a cluster, and this node leaves the entry to the last writer`,
        );
      }
      return;
    }
    this.#ownEntryGone('overwritten');
  }

  /** This node's entry went from etcd (or was overwritten) while its lease lives: put it again. */
  #ownEntryGone(how: 'deleted' | 'missing' | 'overwritten'): void {
    if (this.#stopped || this.#lease === undefined) return;
    this.#host.logger.warn(
      `etcd: this node's entry at ${JSON.stringify(this.#key)} was ${OWN_ENTRY_GONE[how]}; putting it again`,
    );
    this.#entryGone = true;
    void this.#write();
  }

  #put(key: string, value: string): void {
    const node = this.#reader.read(key, value);
    if (node) this.#view.set(key, node);
    else this.#view.delete(key);
  }

  #report(): void {
    if (!this.#stopped) this.#host.update(this.#view.nodes());
  }
}

/** How this node's entry went, in its warning. */
const OWN_ENTRY_GONE = {
  deleted: 'deleted (by another writer, or its lease expired while this process was stalled)',
  missing: 'missing from a read of the prefix',
  overwritten: 'overwritten by another writer',
} as const;

/** A backoff step as etcd3's watch manager reads it (cockatiel's `IBackoff`). */
interface BackoffStep {
  readonly duration: number;
  next(): BackoffStep;
}

/** etcd3's watch backoff: doubling from `minMs` up to `maxMs`. */
function cappedBackoff(minMs: number, maxMs: number): BackoffStep {
  return { duration: minMs, next: () => cappedBackoff(Math.min(maxMs, minMs * 2), maxMs) };
}
