/** The public types of a node's events and options, and the checks of their names. */
import { RpcError } from './errors.js';
import { findUnknownOption, optionNames } from './option-names.js';
import { describe } from './options.js';
import type { CastOptions } from './rpc/client.js';
import type { ModuleSchemas } from './rpc/schema.js';
import type { DownReason } from './transport/connection.js';
/** Events of a node. */
export interface NodeEvents {
  /** A peer connected (after authentication). */
  nodeup: [name: string];
  /**
   * A peer went away: its socket closed, it fell silent past `heartbeatTimeoutMs`, or it said
   * goodbye; or, on demand, the connection was closed because nothing used it for
   * `idleTimeoutMs` (reason `'idle'`: the peer is still a member of its groups).
   */
  nodedown: [name: string, reason: DownReason];
  /** The node finished closing. */
  close: [];
}

/** Options of `node.expose()`. */
export interface ExposeOptions<M> {
  /**
   * Per-function argument schemas (Standard Schema v1), checked before the handler runs; see
   * `node.expose`. Functions without one run unchecked.
   * @default {} (no checks)
   */
  schemas?: ModuleSchemas<M>;
}

/** The names `node.expose` accepts in its options. */
export const EXPOSE_OPTION_NAMES = optionNames({ schemas: true } satisfies Record<
  keyof ExposeOptions<unknown>,
  true
>);

/** Throws a `TypeError` naming an option of `node.expose(module, …, options)` it does not know. */
export function checkExposeOptions(module: string, options: object | undefined): void {
  if (options === undefined) return;
  const unknown = findUnknownOption(options, EXPOSE_OPTION_NAMES);
  if (unknown) throw new TypeError(`expose("${module}"): ${unknown.message}`);
}

/** Options of `node.close()`. */
export interface CloseOptions {
  /**
   * The budget of the whole close, in ms: balancers' calls and calls being served drain until
   * it is nearly spent, the goodbye gets the rest (at least a tenth, at most 500 ms), and
   * whatever is still open then is dropped. Give it less than your platform's grace period
   * after SIGTERM. @default the node's `drainTimeoutMs` (15 000)
   */
  drainTimeoutMs?: number;
}

/** The names `node.cast` accepts (typed: a field added to `CastOptions` and not here fails the build). */
export const CAST_OPTION_NAMES = optionNames({ meta: true } satisfies Record<
  keyof CastOptions,
  true
>);
/** The names `node.close` accepts. */
export const CLOSE_OPTION_NAMES = optionNames({ drainTimeoutMs: true } satisfies Record<
  keyof CloseOptions,
  true
>);

/**
 * `bad_request` for options of `node.call` / `node.cast` that are not an object, or for an
 * option whose name is not in `known`.
 */
export function unknownCallOption(
  options: object | undefined,
  known: readonly string[],
  target: string,
  module: string,
  fn: string,
): RpcError | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    return new RpcError('bad_request', `options must be an object, received ${describe(options)}`, {
      details: { node: target, module, function: fn, field: 'options' },
      notExecuted: true,
    });
  }
  const unknown = findUnknownOption(options, known);
  if (unknown === undefined) return undefined;
  return new RpcError('bad_request', unknown.message, {
    details: { node: target, module, function: fn, field: unknown.name },
    notExecuted: true,
  });
}
