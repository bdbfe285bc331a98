/**
 * Starting a node: its options resolved and checked (a bad one throws a `TypeError` naming it),
 * then `RpcNode.start`, whose failures to listen become `service_unavailable`.
 */
import { RpcError } from './errors.js';
import { RpcNode } from './node.js';
import { type NodeOptions, resolveNodeOptions } from './options.js';

/**
 * Starts a node: validates the options (a bad one throws a `TypeError` naming it), listens,
 * and starts dialling its seeds.
 *
 * @example
 * ```ts
 * const node = await startNode({ name: 'worker1@127.0.0.1', cookie: 'secret', seeds: ['127.0.0.1:4370'] });
 * ```
 */
export async function startNode(options: NodeOptions = {}): Promise<RpcNode> {
  const resolved = resolveNodeOptions(options);
  try {
    return await RpcNode.start(resolved);
  } catch (err) {
    // A configuration error (no address to advertise) keeps its TypeError; a discovery that
    // failed to start says so.
    if (err instanceof TypeError || err instanceof RpcError) throw err;
    throw new RpcError(
      'service_unavailable',
      `cannot listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}: ${(err as Error).message}`,
      {
        details: { reason: 'listen_failed' },
        cause: err,
      },
    );
  }
}
