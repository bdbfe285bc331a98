/**
 * Type tests for typed services (`node.service`, `lb.service`): compiled with
 * `tsc -p test/types` by test/package/type-tests.test.ts. Each `@ts-expect-error` must meet an
 * error, or the compile fails; nothing here runs.
 */
import type {
  BalancedCallOptions,
  CallOptions,
  Decoded,
  LoadBalancer,
  RpcNode,
  Service,
} from '../../src/index.js';
import type { MathModule } from './math.js';

/** Compiles only when `A` and `B` are the same type. */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok?: T): void {}

declare const node: RpcNode;
declare const lb: LoadBalancer;

export async function direct(): Promise<void> {
  const math = node.service<typeof MathModule>('worker@127.0.0.1', 'Math');
  const sum = math.add(1, 2);
  expectType<Equal<typeof sum, Promise<number>>>();
  // sync and async handlers alike: a Promise of the value
  expectType<Equal<ReturnType<typeof math.addAsync>, Promise<number>>>();
  expectType<Equal<ReturnType<typeof math.nothing>, Promise<void>>>();
  // optional and rest parameters keep their shape
  await math.greet('ada');
  await math.greet('ada', '!');
  await math.sum();
  await math.sum(1, 2, 3);
  // @ts-expect-error no such function
  await math.subtract(1, 2);
  // @ts-expect-error wrong argument type
  await math.add('1', 2);
  // @ts-expect-error too few arguments
  await math.add(1);
  // @ts-expect-error too many arguments
  await math.add(1, 2, 3);
  // @ts-expect-error not a function: not part of the service
  math.version;
  // @ts-expect-error a reserved name keeps Object's meaning: reachable with call() only
  const v: Promise<number> = math.valueOf();
  void v;
  // @ts-expect-error reserved: `await` looks it up, so a service is never thenable
  math.then;
  // per-call options: a node's call options
  const slow = math.with({ timeout: 60_000, meta: { tenant: 'a' } });
  expectType<Equal<typeof slow, Service<typeof MathModule, CallOptions>>>();
  await slow.add(1, 2);
  // @ts-expect-error a key is a balancer option, not a direct call's
  math.with({ key: 'user-1' });
  // @ts-expect-error timeout is a number
  math.with({ timeout: '1s' });
}

export async function balanced(): Promise<void> {
  const math = lb.service<typeof MathModule>('Math');
  expectType<Equal<ReturnType<typeof math.add>, Promise<number>>>();
  const keyed = math.with({ key: 'user-42', timeout: 2_000, signal: AbortSignal.timeout(5_000) });
  expectType<Equal<typeof keyed, Service<typeof MathModule, BalancedCallOptions>>>();
  const n: number = await keyed.add(1, 2);
  // @ts-expect-error no such function
  await keyed.mul(1, 2);
  // @ts-expect-error the result is a number, not a string
  const s: string = await math.add(1, 2);
  // @ts-expect-error idempotent is a boolean
  math.with({ idempotent: 'yes' });
  // @ts-expect-error exclude is a list of node names
  math.with({ exclude: 'a@h' });
  math.with({ exclude: ['a@h'], waitForMembers: false });
  void n;
  void s;
}

export async function codecTypes(): Promise<void> {
  const math = lb.service<typeof MathModule>('Math');
  // a Buffer comes back as a Uint8Array
  const bytes = await math.bytes('hi');
  expectType<Equal<typeof bytes, Uint8Array>>();
  const stats = await math.stats();
  expectType<Equal<typeof stats.at, Date>>();
  expectType<Equal<typeof stats.tags, Set<string>>>();
  expectType<Equal<typeof stats.counts, Map<string, Uint8Array>>>();
  expectType<Equal<typeof stats.payload, Uint8Array>>();
  expectType<Equal<typeof stats.pair, [Uint8Array, number]>>();
  // an object with toJSON() comes back as what it returns
  expectType<Equal<typeof stats.home, string>>();
  // @ts-expect-error methods do not cross the wire
  stats.describe();
  expectType<Equal<Decoded<Buffer | string>, Uint8Array | string>>();
  expectType<Equal<Decoded<{ a?: Buffer }>, { a?: Uint8Array }>>();
  expectType<Equal<Decoded<unknown>, unknown>>();
  expectType<Equal<Decoded<bigint[]>, bigint[]>>();
  expectType<Equal<Decoded<() => void>, never>>();
}
