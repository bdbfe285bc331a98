/**
 * Node options: types with their defaults, and `resolveNodeOptions`, which validates them once
 * at the boundary and returns a frozen copy (the caller's object is never kept or mutated).
 * A bad option throws a `TypeError` naming the field, what was expected and what was received.
 */
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import type { TlsOptions } from 'node:tls';
import { formatAddress, isWildcardHost, parseAddress } from './addresses.js';
import {
  type ConnectionsOption,
  type OnDemandConnectionsOptions,
  resolveConnections,
} from './connections-option.js';
import type { Discovery, DiscoveryFactory } from './discovery/types.js';
import { consoleLogger, type Logger, type LogLevel } from './logger.js';
import { describe, optionError } from './option-errors.js';
import { checkOptionNames, optionNames } from './option-names.js';
import { resolveDefaultCookie } from './transport/cookie.js';

export { describe, optionError };

/** @default 32 MiB */
export const DEFAULT_MAX_FRAME_BYTES = 32 * 2 ** 20;
/** @default 16 MiB */
export const DEFAULT_MAX_SEND_QUEUE_BYTES = 16 * 2 ** 20;
/** @default 3 000 ms */
export const DEFAULT_HEARTBEAT_TIMEOUT_MS = 3_000;
/** @default 10 000 ms */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
/** @default 15 000 ms */
export const DEFAULT_DRAIN_TIMEOUT_MS = 15_000;
/** @default 5 000 ms */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
/** The largest timer delay Node.js accepts. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Options of `startNode`. Every field is optional. */
export interface NodeOptions {
  /**
   * The node's name, unique in the cluster: `<id>@<host>`, letters, digits and `._-` in the id.
   * @default '<random>@<hostname>'
   */
  name?: string;
  /** Listen address. @default '127.0.0.1' */
  host?: string;
  /** Listen port; 0 picks a free one (read it back from `node.address`). @default 0 */
  port?: number;
  /**
   * The address peers are told to reach this node at (in its handshake and in peer lists):
   * `"host"` (the port is the one it listens on) or `"host:port"` (a proxy, NAT or port mapping
   * in front of the node). Never a wildcard. Needed when `host` is a wildcard (`0.0.0.0`, `::`)
   * and the host part of `name` is not an address other machines can reach.
   * @default the listen `host` when it is a specific address; on a wildcard `host`, the host
   * part of `name` when it resolves only to addresses other than loopback; else `startNode`
   * throws a `TypeError`
   */
  advertiseAddress?: string;
  /**
   * Shared secret of the cluster; never sent over the wire (HMAC challenge–response).
   * @default `RPCLB_COOKIE`, else a random cookie kept in `~/.rpclb.cookie` (mode 0600)
   */
  cookie?: string;
  /**
   * `host:port` addresses to join, re-dialled with backoff while the node runs; with peer
   * exchange (each node tells a new peer the peers it knows) one reachable seed leads to a full
   * mesh. This is the default discovery; give `discovery` instead for DNS, etcd or Redis.
   * @default []
   */
  seeds?: string[];
  /**
   * How the node learns which nodes exist and where: a {@link Discovery} backend, or a
   * function making one (so one configuration serves several nodes). The node dials what it
   * reports and stops re-dialling addresses that vanish; liveness stays with heartbeats, so a
   * backend outage keeps the last view and drops no connection. Not together with `seeds`.
   * @default the `seeds`, with peer exchange
   */
  discovery?: Discovery | DiscoveryFactory;
  /**
   * Which nodes this node connects to.
   * - `'mesh'`: every node it learns of, so every node is connected to every other and groups
   *   are replicated over those connections.
   * - `'on-demand'`: only the nodes it calls, when it first calls them (and the nodes that call
   *   it). The group memberships of nodes it is not connected to come from the discovery
   *   backend, which must carry groups (`etcdDiscovery`, `redisDiscovery`, or a backend with
   *   `carriesGroups: true`); `startNode` throws a `TypeError` otherwise. Pair it with a
   *   balancer's `subset` option, so each caller connects to a few members only. See the
   *   membership page, "Connections on demand".
   * - `{ mode: 'on-demand', idleTimeoutMs }`: on demand, closing a connection nothing used for
   *   `idleTimeoutMs` (see {@link OnDemandConnectionsOptions}); `'on-demand'` closes them
   *   after the default 5 minutes, `Infinity` never. A mesh closes none (`idleTimeoutMs` with
   *   `'mesh'` is a `TypeError`).
   * @default 'mesh'
   */
  connections?: ConnectionsOption;
  /**
   * A peer silent this long is declared down, at most a tenth of it later (silence is checked
   * every tenth). Nodes ping every fifth of the smaller timeout of the two, so a stall shorter
   * than four fifths of it (a handler blocking the event loop) never gets a node declared down.
   * @default 3 000
   */
  heartbeatTimeoutMs?: number;
  /** Largest frame accepted or sent; a larger message fails with `bad_request`. @default 32 MiB */
  maxFrameBytes?: number;
  /**
   * Bytes that may wait to be sent on one connection (queued by the node and buffered by the
   * socket) before new calls and casts to that peer fail at once with `service_unavailable`
   * (`details.reason: 'send_queue_full'`, not executed, so `lb.call` tries another member).
   * A request is let through while the queue is below the limit, so one frame of any allowed
   * size passes an empty queue. Replies are never refused, but a peer that lets more than
   * twice this plus one frame pile up is not reading: its connection is closed.
   * @default 16 MiB
   */
  maxSendQueueBytes?: number;
  /**
   * TLS between nodes, with mutual authentication: `node:tls` options (`key`, `cert`, `ca`, ...).
   * Both sides present certificates and verify the other's against `ca`. Off when absent.
   */
  tls?: TlsOptions & { servername?: string };
  /** Default timeout of calls that give none. @default 10 000 */
  callTimeoutMs?: number;
  /** How long `close()` waits for in-flight calls. @default 15 000 */
  drainTimeoutMs?: number;
  /** How long an unauthenticated connection may take to finish its handshake. @default 5 000 */
  handshakeTimeoutMs?: number;
  /**
   * Capture the caller's stack when each call starts, so a timeout or lost connection reported
   * later points at the line that made the call. Costs a few microseconds per call (measured in
   * docs/benchmarks.md), so it is off by default; errors always name node, module and function.
   * @default false (or `RPCLB_CALL_SITES=1`)
   */
  captureCallSites?: boolean;
  /** Send handler stacks to callers in `internal_server_error` details. @default true */
  exposeErrorStacks?: boolean;
  /**
   * Keeps a class of nodes out of general node filters (`callOnRandomNode`, `nodeMatchList`):
   * a node whose short name (before `@`) contains one of these patterns matches only a filter
   * that itself contains the pattern. With `['_qa']`, the filter `'orders'` skips
   * `orders_qa@h`, which the filter `'orders_qa'` still reaches.
   * @default [] (no exclusion)
   */
  excludedNodePatterns?: string[];
  /** Where log lines go. @default lines on stderr from `logLevel` up */
  logger?: Logger;
  /** Minimum level of the default logger. @default 'warn' (or `RPCLB_LOG_LEVEL`) */
  logLevel?: LogLevel;
}

/** Options after validation and defaults: what the node runs with. */
export interface ResolvedNodeOptions {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `advertiseAddress` parsed; `port` undefined means "the port bound". */
  readonly advertiseAddress:
    | { readonly host: string; readonly port: number | undefined }
    | undefined;
  readonly cookie: string;
  readonly seeds: readonly string[];
  /** `undefined`: the seeds. */
  readonly discovery: Discovery | DiscoveryFactory | undefined;
  readonly connections: 'mesh' | 'on-demand';
  /** On demand, how long a connection may sit idle before it is closed; `Infinity`: never. */
  readonly idleTimeoutMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly maxFrameBytes: number;
  readonly maxSendQueueBytes: number;
  readonly tls: (TlsOptions & { servername?: string }) | undefined;
  readonly callTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly exposeErrorStacks: boolean;
  readonly captureCallSites: boolean;
  readonly excludedNodePatterns: readonly string[];
  readonly logger: Logger;
}

/**
 * The names `startNode` accepts. Typed against `NodeOptions`, so a field added there and not
 * here (or the reverse) fails the build: adding an option cannot forget this list.
 */
const NODE_OPTION_NAMES = optionNames({
  name: true,
  host: true,
  port: true,
  advertiseAddress: true,
  cookie: true,
  seeds: true,
  discovery: true,
  connections: true,
  heartbeatTimeoutMs: true,
  maxFrameBytes: true,
  maxSendQueueBytes: true,
  tls: true,
  callTimeoutMs: true,
  drainTimeoutMs: true,
  handshakeTimeoutMs: true,
  captureCallSites: true,
  exposeErrorStacks: true,
  excludedNodePatterns: true,
  logger: true,
  logLevel: true,
} satisfies Record<keyof NodeOptions, true>);

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,200}@[A-Za-z0-9._:[\]-]{1,255}$/;

/** `true` for a syntactically valid node name (`id@host`). */
export function isValidNodeName(name: unknown): name is string {
  return typeof name === 'string' && NAME_PATTERN.test(name);
}

function positiveInt(
  options: NodeOptions,
  field: keyof NodeOptions,
  fallback: number,
  max = MAX_TIMEOUT_MS,
): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw optionError(field, `an integer from 1 to ${max}`, value);
  }
  return value;
}

/**
 * Parses `advertiseAddress`: `"host"`, `"host:port"`, `"[v6]"`, `"[v6]:port"` or a bare IPv6
 * address; never a wildcard host.
 */
function parseAdvertiseAddress(value: unknown): ResolvedNodeOptions['advertiseAddress'] {
  if (value === undefined) return undefined;
  const expected = '"host" or "host:port" (port 1 to 65535), not a wildcard address';
  if (typeof value !== 'string') throw optionError('advertiseAddress', expected, value);
  let parsed: { host: string; port: number | undefined } | undefined;
  const bracketed = /^\[([^\]]+)\]$/.exec(value);
  if (isIPv6(value)) parsed = { host: value, port: undefined };
  else if (bracketed && isIPv6(bracketed[1] as string))
    parsed = { host: bracketed[1] as string, port: undefined };
  else if (/^[A-Za-z0-9._-]+$/.test(value)) parsed = { host: value, port: undefined };
  else if (/:\d+$/.test(value)) {
    try {
      parsed = parseAddress(value, 'advertiseAddress');
    } catch {
      parsed = undefined;
    }
  }
  if (!parsed || isWildcardHost(parsed.host) || parsed.host === '')
    throw optionError('advertiseAddress', expected, value);
  return Object.freeze(parsed);
}

/** The smallest frame limit a peer accepts in the handshake. */
export const MIN_MAX_FRAME_BYTES = 1024;

function frameLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_FRAME_BYTES;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_MAX_FRAME_BYTES ||
    value > 2 ** 32 - 1
  ) {
    throw optionError(
      'maxFrameBytes',
      `an integer from ${MIN_MAX_FRAME_BYTES} to ${2 ** 32 - 1}`,
      value,
    );
  }
  return value;
}

function resolveName(name: unknown): string {
  if (name === undefined) return `${randomBytes(6).toString('hex')}@${hostname()}`;
  if (!isValidNodeName(name)) {
    throw optionError('name', 'a node name "id@host" (id: letters, digits, "._-")', name);
  }
  return name;
}

function resolveSeeds(seeds: unknown): string[] {
  if (seeds === undefined) return [];
  if (!Array.isArray(seeds)) throw optionError('seeds', 'an array of "host:port" strings', seeds);
  return seeds.map((seed, i) => {
    const { host, port } = parseAddress(seed, `seeds[${i}]`);
    return formatAddress(host, port);
  });
}

function resolvePatterns(patterns: unknown): readonly string[] {
  if (patterns === undefined) return Object.freeze([]);
  if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === 'string' && p.length > 0)) {
    throw optionError('excludedNodePatterns', 'an array of non-empty strings', patterns);
  }
  return Object.freeze([...patterns]);
}

/** Checks the shape of `discovery` (what a factory makes is checked when the node starts). */
function resolveDiscovery(
  discovery: unknown,
  seeds: readonly string[],
): Discovery | DiscoveryFactory | undefined {
  if (discovery === undefined) return undefined;
  if (typeof discovery !== 'function' && !isDiscovery(discovery)) {
    throw optionError(
      'discovery',
      'a Discovery (an object with start and stop methods) or a function returning one',
      discovery,
    );
  }
  if (seeds.length > 0) {
    throw new TypeError(
      'options "seeds" and "discovery" cannot be used together: the seeds are the default ' +
        'discovery; list those addresses in your discovery backend instead',
    );
  }
  return discovery as Discovery | DiscoveryFactory;
}

/** `true` for an object with `start` and `stop` methods (and a string `kind` if any). */
export function isDiscovery(value: unknown): value is Discovery {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return (
    typeof d.start === 'function' &&
    typeof d.stop === 'function' &&
    (d.kind === undefined || typeof d.kind === 'string') &&
    (d.peerExchange === undefined || typeof d.peerExchange === 'boolean')
  );
}

function resolveLogger(options: NodeOptions, name: string): Logger {
  if (options.logger !== undefined) {
    const l = options.logger as Partial<Logger> | null;
    if (
      !l ||
      ['debug', 'info', 'warn', 'error'].some((m) => typeof l[m as keyof Logger] !== 'function')
    ) {
      throw optionError(
        'logger',
        'an object with debug, info, warn and error methods',
        options.logger,
      );
    }
    return options.logger;
  }
  const level = options.logLevel ?? (process.env.RPCLB_LOG_LEVEL as LogLevel | undefined) ?? 'warn';
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level)) {
    throw optionError('logLevel', "'debug' | 'info' | 'warn' | 'error' | 'silent'", level);
  }
  return consoleLogger(name, level);
}

/** Validates `startNode` options and fills in defaults. Throws a `TypeError` naming the bad field. */
export function resolveNodeOptions(input: NodeOptions = {}): ResolvedNodeOptions {
  if (typeof input !== 'object' || input === null) throw optionError('options', 'an object', input);
  checkOptionNames(input, NODE_OPTION_NAMES);
  const name = resolveName(input.name);
  const host = input.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0)
    throw optionError('host', 'a non-empty string', host);
  const port = input.port ?? 0;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw optionError('port', 'an integer from 0 to 65535', port);
  }
  if (
    input.cookie !== undefined &&
    (typeof input.cookie !== 'string' || input.cookie.length === 0)
  ) {
    throw optionError('cookie', 'a non-empty string', input.cookie);
  }
  if (input.tls !== undefined && (typeof input.tls !== 'object' || input.tls === null)) {
    throw optionError('tls', 'node:tls options (key, cert, ca)', input.tls);
  }
  const exposeErrorStacks = input.exposeErrorStacks ?? true;
  if (typeof exposeErrorStacks !== 'boolean')
    throw optionError('exposeErrorStacks', 'a boolean', exposeErrorStacks);
  const captureCallSites = input.captureCallSites ?? process.env.RPCLB_CALL_SITES === '1';
  if (typeof captureCallSites !== 'boolean')
    throw optionError('captureCallSites', 'a boolean', captureCallSites);
  const seeds = Object.freeze(resolveSeeds(input.seeds));
  return Object.freeze({
    name,
    host,
    port,
    advertiseAddress: parseAdvertiseAddress(input.advertiseAddress),
    cookie: input.cookie ?? resolveDefaultCookie(),
    seeds,
    discovery: resolveDiscovery(input.discovery, seeds),
    ...resolveConnections(input.connections),
    heartbeatTimeoutMs: positiveInt(input, 'heartbeatTimeoutMs', DEFAULT_HEARTBEAT_TIMEOUT_MS),
    maxFrameBytes: frameLimit(input.maxFrameBytes),
    maxSendQueueBytes: positiveInt(
      input,
      'maxSendQueueBytes',
      DEFAULT_MAX_SEND_QUEUE_BYTES,
      Number.MAX_SAFE_INTEGER,
    ),
    tls: input.tls ? Object.freeze({ ...input.tls }) : undefined,
    callTimeoutMs: positiveInt(input, 'callTimeoutMs', DEFAULT_CALL_TIMEOUT_MS),
    drainTimeoutMs: positiveInt(input, 'drainTimeoutMs', DEFAULT_DRAIN_TIMEOUT_MS),
    handshakeTimeoutMs: positiveInt(input, 'handshakeTimeoutMs', DEFAULT_HANDSHAKE_TIMEOUT_MS),
    exposeErrorStacks,
    captureCallSites,
    excludedNodePatterns: resolvePatterns(input.excludedNodePatterns),
    logger: resolveLogger(input, name),
  });
}
