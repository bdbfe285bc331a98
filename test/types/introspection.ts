/**
 * Type tests for typed algorithm introspection: `lb.algorithm` has the type of the algorithm
 * the balancer was started with (inferred from `selectionAlgorithm`, `LeastLoaded` by
 * default), and `algorithmOpts` is checked against that algorithm's options.
 */
import {
  algorithms,
  defineBalancer,
  type HashRing,
  type HashRingOptions,
  type LeastConnections,
  type LeastLoaded,
  type LoadBalancer,
  type RpcNode,
  type SelectionAlgorithm,
  type WeightedRoundRobinOptions,
} from '../../src/index.js';

declare const node: RpcNode;

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok?: T): void {}

export async function inferred(): Promise<void> {
  const byDefault = await node.startLoadBalancer({ name: 'default' });
  expectType<Equal<typeof byDefault.algorithm, LeastLoaded>>();
  const typical: number = byDefault.algorithm.typicalLatency;
  const lc = await node.startLoadBalancer({
    name: 'lc',
    selectionAlgorithm: algorithms.LeastConnections,
  });
  expectType<Equal<typeof lc.algorithm, LeastConnections>>();
  const counts: Map<string, number> = lc.algorithm.snapshot();
  // @ts-expect-error a LeastConnections balancer has no ring
  lc.algorithm.shares(lc.members());

  const ringOptions: HashRingOptions = { weight: 64, balanceFactor: 1.25 };
  const ring = await node.startLoadBalancer({
    name: 'ring',
    selectionAlgorithm: algorithms.HashRing,
    algorithmOpts: ringOptions,
  });
  expectType<Equal<typeof ring.algorithm, HashRing>>();
  const shares: Map<string, number> = ring.algorithm.shares(ring.members());
  const inFlight: number = ring.algorithm.inFlight('a@h');

  const weights: WeightedRoundRobinOptions = { weights: { 'a@h': 3 } };
  const wrr = await node.startLoadBalancer({
    name: 'wrr',
    selectionAlgorithm: algorithms.WeightedRoundRobin,
    algorithmOpts: weights,
  });
  const weight: number = wrr.algorithm.weightOf('a@h');

  // any balancer is still a LoadBalancer
  const balancers: LoadBalancer[] = [byDefault, lc, ring, wrr];
  void [typical, counts, shares, inFlight, weight, balancers];
}

export async function checkedOptions(): Promise<void> {
  await node.startLoadBalancer({
    name: 'ring',
    selectionAlgorithm: algorithms.HashRing,
    // @ts-expect-error weight is a number
    algorithmOpts: { weight: 'x' },
  });
  await node.startLoadBalancer({
    name: 'lc',
    selectionAlgorithm: algorithms.LeastConnections,
    // @ts-expect-error not an option of LeastConnections
    algorithmOpts: { weights: { 'a@h': 1 } },
  });
}

export async function chosenAtRunTime(pick: boolean): Promise<void> {
  // a class chosen at run time: the instance is one of them
  const lb = await node.startLoadBalancer({
    name: 'either',
    selectionAlgorithm: pick ? algorithms.HashRing : algorithms.RoundRobin,
  });
  const algorithm: SelectionAlgorithm = lb.algorithm;
  void algorithm;
}

export function definitions(): void {
  const Ring = defineBalancer({ name: 'ring', selectionAlgorithm: algorithms.HashRing });
  const shares = Ring.balancer?.algorithm.shares(Ring.members());
  void shares;
}
