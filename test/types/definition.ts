/**
 * Type tests for balancer definitions (`defineBalancer`): the algorithm's options are checked
 * against the algorithm, and a definition naming its module (`moduleType<M>('Math')`) has a
 * typed `service`.
 */
import {
  algorithms,
  type BalancerDefinition,
  defineBalancer,
  type LoadBalancer,
  moduleType,
  type RpcNode,
} from '../../src/index.js';
import type { MathModule } from './math.js';

declare const node: RpcNode;

export const MathBalancer = defineBalancer({
  name: 'math',
  selectionAlgorithm: algorithms.HashRing,
  algorithmOpts: { weight: 64 },
  module: moduleType<typeof MathModule>('Math'),
});

export const Plain = defineBalancer({ name: 'plain' });

export async function typed(): Promise<void> {
  const lb: LoadBalancer = await MathBalancer.start(node, { nodeMatchList: ['math'] });
  // @ts-expect-error the name is fixed by the definition
  await MathBalancer.start(node, { name: 'other' });
  const sum: number = await MathBalancer.service.add(1, 2);
  const keyed: number = await MathBalancer.service.with({ key: 'user-1' }).addAsync(1, 2);
  // @ts-expect-error no such function
  await MathBalancer.service.subtract(1, 2);
  // @ts-expect-error wrong argument type
  await MathBalancer.service.add('1', 2);
  const members: readonly string[] = MathBalancer.members();
  const selected: string = MathBalancer.selectNode({ key: 'k', exclude: ['a@h'] });
  const other = MathBalancer.serviceOf<{ ping: () => 'pong' }>('Ping');
  const pong: 'pong' = await other.ping();
  const onRandom: number = await MathBalancer.callOnRandomNode<number>(
    'math',
    'Math',
    'add',
    [1, 2],
  );
  void [lb, sum, keyed, members, selected, pong, onRandom];
}

export function untyped(): void {
  const p: BalancerDefinition = Plain;
  // @ts-expect-error a definition without a module has no service
  p.service.add(1, 2);
}

export function checkedAlgorithmOptions(): void {
  defineBalancer({
    name: 'ring',
    selectionAlgorithm: algorithms.HashRing,
    // @ts-expect-error weight is a number
    algorithmOpts: { weight: 'heavy' },
  });
  defineBalancer({
    name: 'wrr',
    selectionAlgorithm: algorithms.WeightedRoundRobin,
    // @ts-expect-error weights map node names to numbers
    algorithmOpts: { weights: 'bad' },
  });
  // @ts-expect-error a name is required
  defineBalancer({ selectionAlgorithm: algorithms.Random });
}
