/**
 * The `connections` option of `startNode`: which nodes a node connects to, and, on demand, how
 * long a connection may sit idle before it is closed. Resolved once at the boundary like every
 * other option (a bad value throws a `TypeError` naming the field).
 */
import { describe, optionError } from './option-errors.js';

/** @default 300 000 ms (5 minutes) */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

/** The largest timer delay Node.js accepts. */
const MAX_IDLE_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * `connections: { mode: 'on-demand', idleTimeoutMs }`: on-demand connections with the idle
 * timeout spelt out (the string `'on-demand'` is this with the default timeout).
 *
 * @example
 * ```ts
 * await startNode({ connections: { mode: 'on-demand', idleTimeoutMs: 60_000 }, discovery });
 * ```
 */
export interface OnDemandConnectionsOptions {
  /** Connect only to the nodes this node calls (and those that call it). */
  mode: 'on-demand';
  /**
   * A connection on which no call, cast, reply or load probe went either way for this long,
   * and nothing is in flight either way, is closed; the next call to that node dials it again.
   * Heartbeats and membership messages do not count as use. Closing takes effect within a
   * sweep (a quarter of this, at most 10 s) after the timeout, and is not a departure: the
   * node stays a member of its groups, which come from the discovery backend again.
   * `Infinity` keeps idle connections open.
   * @default 300 000 (5 minutes)
   */
  idleTimeoutMs?: number;
}

/** `connections: { mode: 'mesh' }`, the same as `'mesh'` (a mesh never closes an idle connection). */
export interface MeshConnectionsOptions {
  /** Connect to every node learnt of. */
  mode: 'mesh';
}

/** The value of the `connections` option of `startNode`. */
export type ConnectionsOption =
  | 'mesh'
  | 'on-demand'
  | MeshConnectionsOptions
  | OnDemandConnectionsOptions;

/** The `connections` option after validation and defaults. */
export interface ResolvedConnections {
  readonly connections: 'mesh' | 'on-demand';
  /** `Infinity` in a mesh, or when idle connections are kept. */
  readonly idleTimeoutMs: number;
}

const MODES = '"mesh", "on-demand", or { mode: "on-demand", idleTimeoutMs }';

/** Validates `connections`; throws a `TypeError` naming the bad field. */
export function resolveConnections(connections: unknown): ResolvedConnections {
  if (connections === undefined || connections === 'mesh') {
    return { connections: 'mesh', idleTimeoutMs: Number.POSITIVE_INFINITY };
  }
  if (connections === 'on-demand') {
    return { connections: 'on-demand', idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS };
  }
  if (typeof connections !== 'object' || connections === null || Array.isArray(connections)) {
    throw optionError('connections', MODES, connections);
  }
  const given = connections as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key !== 'mode' && key !== 'idleTimeoutMs') {
      throw new TypeError(
        `unknown option "connections.${key}"; valid options: "mode", "idleTimeoutMs"`,
      );
    }
  }
  if (given.mode === 'mesh') {
    if (given.idleTimeoutMs !== undefined) {
      throw new TypeError(
        `option "connections.idleTimeoutMs" applies to on-demand connections only ` +
          `(a mesh keeps every connection), received ${describe(given.idleTimeoutMs)} with mode "mesh"`,
      );
    }
    return { connections: 'mesh', idleTimeoutMs: Number.POSITIVE_INFINITY };
  }
  if (given.mode !== 'on-demand') {
    throw optionError('connections.mode', '"mesh" or "on-demand"', given.mode);
  }
  return { connections: 'on-demand', idleTimeoutMs: resolveIdleTimeout(given.idleTimeoutMs) };
}

function resolveIdleTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_IDLE_TIMEOUT_MS;
  if (value === Number.POSITIVE_INFINITY) return value;
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > MAX_IDLE_TIMEOUT_MS
  ) {
    throw optionError(
      'connections.idleTimeoutMs',
      `an integer from 1 to ${MAX_IDLE_TIMEOUT_MS}, or Infinity to keep idle connections`,
      value,
    );
  }
  return value;
}
