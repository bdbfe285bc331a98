/**
 * `CallDirect`: for tests and single-process setups. A balancer using it never consults the
 * group: every selection is the local node, and `lb.call` runs the local node's exposed
 * function in-process (no socket), with the same encoding, errors and context as a remote call.
 */
import type { AlgorithmContext, SelectionAlgorithm } from './types.js';

export class CallDirect implements SelectionAlgorithm {
  /** Tells the balancer to route everything to the local node and skip membership. */
  static readonly callsDirect = true;
  readonly #self: string;

  constructor(context: AlgorithmContext<{ self?: string }>) {
    this.#self = context.options.self ?? '';
  }

  chooseFromNodes(nodes: readonly string[]): string {
    return this.#self || (nodes[0] as string);
  }
}
