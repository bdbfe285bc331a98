/**
 * `rpc-load-balancer/discovery/redis`: discovery through Redis with the `ioredis` client (an
 * optional peer dependency, loaded when a node starts). Each node keeps a key
 * `prefix + name` holding `{ name, address, incarnation, groups }` with a TTL of its heartbeat
 * timeout, refreshed three times per TTL; joins, changes of groups (announced as joins) and
 * graceful leaves are published on a channel, a key that
 * expires is reported by Redis' keyspace notifications where the server has them on
 * (`notify-keyspace-events Ex`), and a periodic reconciliation (SCAN of the prefix) covers
 * whatever a subscriber missed. The first read after a reconnection holds what it lacks a while
 * (`BackendView`): a Redis restarted empty is read before every node has set its key again.
 *
 * ```ts
 * import { startNode } from 'rpc-load-balancer';
 * import { redisDiscovery } from 'rpc-load-balancer/discovery/redis';
 * const node = await startNode({ discovery: () => redisDiscovery({ url: 'redis://redis:6379' }) });
 * ```
 */
import type { Redis, RedisOptions } from 'ioredis';
import { MAX_TIMEOUT_MS, optionError } from '../options.js';
import {
  BackendView,
  type EntryFields,
  EntryReader,
  entryOf,
  holdMs,
  importOptional,
  OutageLog,
  OwnEntry,
  sleep,
} from './registry.js';
import type { DiscoveredNode, Discovery, DiscoveryHost } from './types.js';

/** @default 'rpclb:nodes:' */
export const DEFAULT_REDIS_PREFIX = 'rpclb:nodes:';
/** @default 5 000 ms */
export const DEFAULT_RECONCILE_INTERVAL_MS = 5_000;

/** Options of {@link redisDiscovery}. */
export interface RedisDiscoveryOptions {
  /** The server: `redis://[:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** Further `ioredis` options (`username`, `password`, `tls`, `db`...). */
  client?: RedisOptions;
  /**
   * The prefix of the nodes' keys, one per cluster; the channel is `prefix + 'events'`.
   * @default 'rpclb:nodes:'
   */
  prefix?: string;
  /** How often the whole prefix is read again (SCAN), in ms. @default 5 000 */
  reconcileIntervalMs?: number;
  /** Dial the nodes named in peers' peer lists too (see `Discovery.peerExchange`). @default true */
  peerExchange?: boolean;
}

/**
 * Discovery through Redis. The view is the keys under `prefix`, with their groups: a join or a
 * change of groups is seen when its message arrives, a crashed node's key expires after `heartbeatTimeoutMs` and is seen at once
 * with keyspace notifications on, else at the next reconciliation. While Redis cannot be
 * reached the last view stays; when it is back (even restarted empty) the node sets its key
 * again, announces itself and reads the prefix again. `startNode` waits for the first
 * registration and read for at most `heartbeatTimeoutMs`.
 */
export function redisDiscovery(options: RedisDiscoveryOptions): Discovery {
  const config = resolveRedisOptions(options);
  let session: RedisSession | undefined;
  return {
    kind: 'redis',
    peerExchange: config.peerExchange,
    carriesGroups: true,
    groupsChanged: () => session?.groupsChanged(),
    async start(host) {
      const mod = await importOptional(
        'ioredis',
        'rpc-load-balancer/discovery/redis',
        () => import('ioredis'),
      );
      session = new RedisSession(config, host, mod.Redis ?? mod.default);
      await session.start();
    },
    stop: () => session?.stop(),
  };
}

type ResolvedRedisOptions = Readonly<Required<Omit<RedisDiscoveryOptions, 'client'>>> & {
  readonly client: RedisOptions;
};

function resolveRedisOptions(options: RedisDiscoveryOptions): ResolvedRedisOptions {
  if (typeof options !== 'object' || options === null)
    throw optionError('redisDiscovery', 'an object', options);
  const { url, prefix = DEFAULT_REDIS_PREFIX, client = {} } = options;
  if (typeof url !== 'string' || !/^rediss?:\/\/./.test(url))
    throw optionError('redisDiscovery.url', 'a URL like "redis://127.0.0.1:6379"', url);
  if (typeof prefix !== 'string' || prefix.length === 0 || /[*?[\]\\]/.test(prefix))
    throw optionError('redisDiscovery.prefix', 'a non-empty string without * ? [ ] \\', prefix);
  if (typeof client !== 'object' || client === null)
    throw optionError('redisDiscovery.client', 'ioredis options', client);
  const reconcileIntervalMs = options.reconcileIntervalMs ?? DEFAULT_RECONCILE_INTERVAL_MS;
  if (
    !Number.isInteger(reconcileIntervalMs) ||
    reconcileIntervalMs < 100 ||
    reconcileIntervalMs > MAX_TIMEOUT_MS
  ) {
    throw optionError(
      'redisDiscovery.reconcileIntervalMs',
      `an integer from 100 to ${MAX_TIMEOUT_MS}`,
      reconcileIntervalMs,
    );
  }
  const peerExchange = options.peerExchange ?? true;
  if (typeof peerExchange !== 'boolean')
    throw optionError('redisDiscovery.peerExchange', 'a boolean', peerExchange);
  return Object.freeze({
    url,
    prefix,
    client: { ...client },
    reconcileIntervalMs,
    peerExchange,
  });
}

/**
 * A message on the channel: a join (sent again when the node's groups change) carries the
 * whole entry, a leave the name.
 */
type Announcement = ({ type: 'join' } & EntryFields) | { type: 'leave'; name: string };

/** One node's key, subscription and reconciliation. */
class RedisSession {
  readonly #config: ResolvedRedisOptions;
  readonly #host: DiscoveryHost;
  readonly #redis: Redis;
  readonly #sub: Redis;
  readonly #outage: OutageLog;
  readonly #channel: string;
  readonly #expired: string;
  readonly #entry: OwnEntry;
  readonly #reader: EntryReader;
  /** Set by a reconnection: the next reconciliation holds what it no longer finds. */
  #afterBreak = false;
  /** The view: key → node, and what the first read after a reconnection lacked, a while. */
  readonly #view: BackendView;
  /** Keys a message changed while a reconciliation ran: the message is newer than its read. */
  #touched: Set<string> | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  /** The registration and read that followed the last (re)connection. */
  #round: Promise<void> | undefined;
  /** The one loop writing this node's key, while one runs, and what it still has to do. */
  #writer: Promise<void> | undefined;
  #writeWanted = false;
  #announceWanted = false;
  #reconciling = false;
  #stopped = false;

  constructor(config: ResolvedRedisOptions, host: DiscoveryHost, Client: typeof Redis) {
    this.#config = config;
    this.#host = host;
    this.#outage = new OutageLog('redis', host.logger);
    this.#entry = new OwnEntry('redis', host);
    this.#reader = new EntryReader('redis', host.logger);
    // Each node's client reconnects with a backoff of up to 2 s (retryStrategy above).
    this.#view = new BackendView(holdMs(host.heartbeatTimeoutMs, 2_000), () => this.#report());
    this.#channel = `${config.prefix}events`;
    const options: RedisOptions = {
      // Fail at once while disconnected instead of queueing without bound.
      enableOfflineQueue: false,
      // A frozen server fails commands, so the loops go on.
      commandTimeout: Math.max(500, Math.round(host.heartbeatTimeoutMs / 3)),
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      ...config.client,
    };
    this.#redis = new Client(config.url, options);
    // The subscriber may queue its SUBSCRIBE until it is connected (and re-subscribes itself).
    this.#sub = new Client(config.url, {
      ...options,
      enableOfflineQueue: true,
      commandTimeout: undefined,
    });
    this.#expired = `__keyevent@${this.#redis.options.db ?? 0}__:expired`;
    for (const client of [this.#redis, this.#sub]) {
      client.on('error', (err: unknown) => this.#outage.failed('connecting', err, this.#view.size));
    }
  }

  get #key(): string {
    return `${this.#config.prefix}${this.#host.name}`;
  }

  async start(): Promise<void> {
    this.#sub.on('message', (channel: string, message: string) =>
      this.#onMessage(channel, message),
    );
    // Back after a break (or a restart of Redis): register again and read what was missed.
    this.#redis.on('ready', () => {
      this.#afterBreak ||= this.#view.size > 0;
      this.#round = Promise.all([this.#write(true), this.#reconcile()]).then(() => {});
    });
    this.#sub.on('ready', () => {
      this.#afterBreak ||= this.#view.size > 0;
      void this.#reconcile();
    });
    this.#sub.subscribe(this.#channel, this.#expired).catch(() => {});
    const refreshMs = Math.max(100, Math.floor(this.#host.heartbeatTimeoutMs / 3));
    this.#every(refreshMs, () => this.#write(false));
    this.#every(this.#config.reconcileIntervalMs, () => this.#reconcile());
    await Promise.race([this.#firstRound(), sleep(this.#host.heartbeatTimeoutMs)]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#view.stop();
    for (const timer of this.#timers) clearInterval(timer);
    try {
      // A SET still under way must not put the key back after the DEL.
      await this.#writer;
      await this.#redis.del(this.#key);
      await this.#publish({ type: 'leave', name: this.#host.name });
    } catch {
      // Unreachable: the key expires by itself within one TTL.
    } finally {
      this.#sub.disconnect();
      this.#redis.disconnect();
    }
  }

  /** Resolves once the first connection registered this node and read the prefix. */
  async #firstRound(): Promise<void> {
    if (this.#round === undefined)
      await new Promise((resolve) => this.#redis.once('ready', resolve));
    await this.#round;
  }

  #every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task(), ms);
    timer.unref();
    this.#timers.push(timer);
  }

  /** This node's groups changed: sets its key again and announces it, as a join. */
  groupsChanged(): void {
    void this.#write(true);
  }

  /**
   * Sets this node's key with its TTL, and announces it when asked or after a break. One loop at
   * a time: a request during a SET makes the running loop set (and announce) again, with the
   * groups read then, so overlapping requests end with the latest state.
   */
  #write(announce: boolean): Promise<void> {
    this.#writeWanted = true;
    this.#announceWanted ||= announce;
    this.#writer ??= this.#writeLoop().finally(() => {
      this.#writer = undefined;
      // A request that came as the loop was ending: serve it.
      if (this.#writeWanted && this.#canWrite()) void this.#write(false);
    });
    return this.#writer;
  }

  async #writeLoop(): Promise<void> {
    // Not ready: the 'ready' event writes (and announces) when the connection is back.
    while (this.#writeWanted && this.#canWrite()) {
      const announce = this.#announceWanted;
      this.#writeWanted = false;
      this.#announceWanted = false;
      try {
        const fields = this.#entry.fields();
        await this.#redis.set(
          this.#key,
          JSON.stringify(fields),
          'PX',
          this.#host.heartbeatTimeoutMs,
        );
        const wasDown = this.#outage.down;
        this.#outage.ok();
        if (announce || wasDown) await this.#publish({ type: 'join', ...fields });
      } catch (err) {
        // The next refresh sets the key again and, the outage being noted, announces it.
        this.#outage.failed('registering', err, this.#view.size);
      }
    }
  }

  #canWrite(): boolean {
    return !this.#stopped && this.#redis.status === 'ready';
  }

  #publish(announcement: Announcement): Promise<number> {
    return this.#redis.publish(this.#channel, JSON.stringify(announcement));
  }

  /** Reads every key under the prefix (SCAN, then MGET: an expired key reads as nothing). */
  async #reconcile(): Promise<void> {
    if (this.#stopped || this.#reconciling || this.#redis.status !== 'ready') return;
    this.#reconciling = true;
    this.#touched = new Set();
    const afterBreak = this.#afterBreak;
    this.#afterBreak = false;
    try {
      const next = new Map<string, DiscoveredNode>();
      let cursor = '0';
      do {
        const [after, keys] = await this.#redis.scan(
          cursor,
          'MATCH',
          `${this.#config.prefix}*`,
          'COUNT',
          200,
        );
        cursor = after;
        const values = keys.length > 0 ? await this.#redis.mget(...keys) : [];
        keys.forEach((key, i) => {
          const node = this.#reader.read(key, values[i]);
          if (node) next.set(key, node);
        });
      } while (cursor !== '0' && !this.#stopped);
      if (this.#stopped) return;
      this.#replaceView(next, this.#touched, afterBreak);
      this.#report();
    } catch (err) {
      this.#afterBreak ||= afterBreak;
      this.#outage.failed('reading the prefix', err, this.#view.size);
    } finally {
      this.#reconciling = false;
      this.#touched = undefined;
    }
  }

  /**
   * Makes `read` the view, except for the keys a message changed while it was read: their
   * message came after the SET or DEL it reports, so it is at least as new as the read. After a
   * break, what the read lacks is held a while.
   */
  #replaceView(
    read: Map<string, DiscoveredNode>,
    touched: ReadonlySet<string>,
    afterBreak: boolean,
  ): void {
    const next = new Map<string, DiscoveredNode>();
    for (const [key, node] of read) if (!touched.has(key)) next.set(key, node);
    for (const key of touched) {
      const node = this.#view.get(key);
      if (node) next.set(key, node);
    }
    this.#view.replace(next, afterBreak);
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#expired) {
      if (!message.startsWith(this.#config.prefix)) return;
      this.#touched?.add(message);
      if (this.#view.delete(message)) this.#report();
      return;
    }
    if (!this.#reader.fits(channel, message)) return;
    let announcement: { type?: unknown; name?: unknown };
    try {
      announcement = JSON.parse(message) ?? {};
    } catch {
      return;
    }
    if (typeof announcement.name !== 'string') return;
    const key = `${this.#config.prefix}${announcement.name}`;
    if (announcement.type === 'leave') {
      this.#touched?.add(key);
      if (this.#view.delete(key)) this.#report();
    } else if (announcement.type === 'join') {
      // The whole entry (name, address, incarnation, groups); an older node's has no groups.
      const node = entryOf(announcement);
      if (node) {
        this.#touched?.add(key);
        this.#view.set(key, node);
        this.#report();
      }
    }
  }

  #report(): void {
    if (!this.#stopped) this.#host.update(this.#view.nodes());
  }
}
