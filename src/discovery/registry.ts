/**
 * What the registering backends (etcd, Redis) share: the entry each node writes about itself
 * (`{ name, address, incarnation, groups }`, as JSON) and reading it back, loading their optional client package with a clear error, and logging an outage once.
 */
import type { Logger } from '../logger.js';
import { isValidNodeName } from '../options.js';
import { readExtras } from './entry.js';
import type { DiscoveredNode, DiscoveryHost } from './types.js';

/** The largest entry (or Redis announcement) read, in bytes: a bigger one is left out with a warning. */
export const MAX_ENTRY_BYTES = 64 * 1_024;

/** What a node registers about itself: read from the host again at every write. */
export interface EntryFields {
  readonly name: string;
  readonly address: string;
  readonly incarnation: string;
  readonly groups?: Readonly<Record<string, number>>;
}

/** This node's entry as a registering backend writes it, with its groups as they are now. */
export class OwnEntry {
  readonly #host: DiscoveryHost;
  readonly #kind: string;
  #tooBig = false;

  constructor(kind: string, host: DiscoveryHost) {
    this.#kind = kind;
    this.#host = host;
  }

  /**
   * `{ name, address, incarnation, groups }` with `host.groups()` read now. Groups that would
   * make the entry bigger than {@link MAX_ENTRY_BYTES} (which readers refuse) are left out, with
   * one warning until they fit again: the node stays discoverable, without its groups.
   */
  fields(): EntryFields {
    const { name, address, incarnation } = this.#host;
    const fields = { name, address, incarnation, groups: this.#host.groups() };
    const bytes = Buffer.byteLength(JSON.stringify(fields));
    // Room for the `type` of a Redis announcement, which carries the same fields.
    const fits = bytes <= MAX_ENTRY_BYTES - 64;
    if (!fits && !this.#tooBig) {
      this.#host.logger.warn(
        `${this.#kind}: this node's groups make its entry ${bytes} bytes, over the ${MAX_ENTRY_BYTES} bytes readers accept; registered without its groups`,
      );
    }
    this.#tooBig = !fits;
    return fits ? fields : { name, address, incarnation };
  }
}

/**
 * The node an entry describes, or `undefined` when it is not one (another writer's key). An
 * entry of an older version (no `groups`, no `incarnation`) is a node without them; malformed
 * groups or incarnations are dropped, the entry stays.
 */
export function decodeEntry(value: string | null | undefined): DiscoveredNode | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return entryOf(JSON.parse(value));
  } catch {
    return undefined; // not JSON: left out
  }
}

/** The node a parsed entry (or announcement) describes, as {@link decodeEntry} reads it. */
export function entryOf(raw: unknown): DiscoveredNode | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const fields = raw as Record<string, unknown>;
  const { name, address } = fields;
  if (!isValidNodeName(name) || typeof address !== 'string') return undefined;
  return { name, address, ...readExtras(fields) };
}

/** Reads entries, leaving out those over {@link MAX_ENTRY_BYTES} with one warning per key. */
export class EntryReader {
  /** Keys found too big, not said again while they stay so (a bounded set). */
  readonly #tooBig = new Set<string>();
  readonly #kind: string;
  readonly #logger: Logger;

  constructor(kind: string, logger: Logger) {
    this.#kind = kind;
    this.#logger = logger;
  }

  /** The node `value`, read at `key`, describes. */
  read(key: string, value: string | null | undefined): DiscoveredNode | undefined {
    return typeof value === 'string' && !this.fits(key, value) ? undefined : decodeEntry(value);
  }

  /** Whether `value` (read at `key`, or a message on it) is within {@link MAX_ENTRY_BYTES}. */
  fits(key: string, value: string): boolean {
    // Cheap first: a string of n UTF-16 units is at most 3n bytes.
    const bytes = value.length * 3 <= MAX_ENTRY_BYTES ? 0 : Buffer.byteLength(value);
    if (bytes > MAX_ENTRY_BYTES) {
      this.#oversized(key, bytes);
      return false;
    }
    this.#tooBig.delete(key);
    return true;
  }

  #oversized(key: string, bytes: number): void {
    const line = `${this.#kind}: the entry at ${JSON.stringify(key.slice(0, 300))} is ${bytes} bytes, over ${MAX_ENTRY_BYTES}; left out`;
    if (this.#tooBig.has(key) || this.#tooBig.size >= 1_000) {
      this.#logger.debug(line);
      return;
    }
    this.#tooBig.add(key);
    this.#logger.warn(line);
  }
}

/**
 * Imports an optional peer dependency; a missing package is an `Error` saying what to install,
 * not a module-resolution stack.
 */
export async function importOptional<T>(
  pkg: string,
  entry: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        `${entry} needs the "${pkg}" package, an optional peer dependency of rpc-load-balancer: npm install ${pkg}`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** One warning when a backend becomes unreachable, one line when it is back. */
export class OutageLog {
  readonly #kind: string;
  readonly #logger: Logger;
  #down = false;

  constructor(kind: string, logger: Logger) {
    this.#kind = kind;
    this.#logger = logger;
  }

  get down(): boolean {
    return this.#down;
  }

  /** An operation failed: warns on the first failure of an outage. */
  failed(what: string, err: unknown, viewSize: number): void {
    if (this.#down) {
      this.#logger.debug(`${this.#kind}: ${what} failed: ${messageOf(err)}`);
      return;
    }
    this.#down = true;
    this.#logger.warn(
      `${this.#kind}: ${what} failed (${messageOf(err)}); keeping the last view (${viewSize} nodes), connections are judged by heartbeats; retrying`,
    );
  }

  /** An operation succeeded: ends an outage. */
  ok(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#logger.info(`${this.#kind}: reachable again`);
  }
}

/** Resolves after `ms` (unref'd: a pending retry does not keep the process alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** An error's message on one line (log lines and wrapped errors carry no stacks). */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

/**
 * How long entries missing from the first full read after a break are kept: one registration
 * lifetime (the heartbeat timeout, in etcd's whole seconds) plus `reconnectMs`, the longest the
 * other nodes' clients may wait before they try the backend again.
 */
export function holdMs(heartbeatTimeoutMs: number, reconnectMs: number): number {
  return Math.ceil(heartbeatTimeoutMs / 1_000) * 1_000 + reconnectMs;
}

/**
 * What a registering backend (etcd, Redis) reports: its entries by key. The first full read after
 * a break (etcd back, Redis reconnected) keeps the entries it lacks for {@link holdMs}: a backend
 * restarted empty is read before the live nodes have registered again, and a node that knows
 * its members only through the backend (connections on demand) would otherwise lose sight of
 * them for that long. A node that died during the break stays that much longer; an entry gone
 * explicitly (a watch delete, an expiry notification, a leave) goes at once.
 */
export class BackendView {
  readonly #entries = new Map<string, DiscoveredNode>();
  /** Entries a read after a break lacked, until they are written again, deleted, or expire. */
  readonly #held = new Map<string, { node: DiscoveredNode; until: number }>();
  readonly #holdMs: number;
  readonly #expired: () => void;
  #timer: NodeJS.Timeout | undefined;

  /** `expired` is called when held entries expire (the nodes to report changed). */
  constructor(holdForMs: number, expired: () => void) {
    this.#holdMs = holdForMs;
    this.#expired = expired;
  }

  /** The entries read (held ones not counted). */
  get size(): number {
    return this.#entries.size;
  }

  get(key: string): DiscoveredNode | undefined {
    return this.#entries.get(key);
  }

  /** An entry written or read; it replaces a held one. */
  set(key: string, node: DiscoveredNode): void {
    this.#held.delete(key);
    this.#entries.set(key, node);
  }

  /** An entry gone explicitly, held or not: `true` when it was reported. */
  delete(key: string): boolean {
    const held = this.#held.delete(key);
    return this.#entries.delete(key) || held;
  }

  /** A full read: `read` becomes the entries; after a break, those it lacks are held. */
  replace(read: ReadonlyMap<string, DiscoveredNode>, afterBreak: boolean): void {
    if (afterBreak) {
      const until = performance.now() + this.#holdMs;
      for (const [key, node] of this.#entries) {
        if (!read.has(key)) this.#held.set(key, { node, until });
      }
    }
    this.#entries.clear();
    for (const [key, node] of read) this.set(key, node);
    this.#schedule();
  }

  /** The nodes to report: the entries, and the held ones. */
  nodes(): Iterable<DiscoveredNode> {
    if (this.#held.size === 0) return this.#entries.values();
    return [...this.#entries.values(), ...[...this.#held.values()].map((h) => h.node)];
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#held.clear();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#held.size === 0) return;
    let next = Number.POSITIVE_INFINITY;
    for (const { until } of this.#held.values()) next = Math.min(next, until);
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, next - performance.now()));
    this.#timer.unref();
  }

  #expire(): void {
    const now = performance.now();
    let changed = false;
    for (const [key, { until }] of this.#held) {
      if (until > now) continue;
      this.#held.delete(key);
      changed = true;
    }
    this.#schedule();
    if (changed) this.#expired();
  }
}
