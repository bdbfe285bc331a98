/**
 * A worker process for the typed multi-process test: starts a node (options as JSON in argv[2]),
 * exposes `Math` with its schemas, starts the shared `MathBalancer` definition, and runs the ops
 * the parent sends over IPC (`{ id, op, args }` → `{ id, ok, value | error }`), speaking the
 * protocol of test/helpers/cluster.ts.
 */
import { type BalancedCallOptions, type RpcError, startNode } from '../../../src/index.js';
import { MathBalancer } from './balancers.js';
import { type MathModule, mathModule, mathSchemas, state } from './math.js';

const send = (message: unknown) => process.send?.(message);
const node = await startNode({ logLevel: 'error', ...JSON.parse(process.argv[2] ?? '{}') });
node.expose('Math', mathModule(node.name), { schemas: mathSchemas });
await MathBalancer.start(node);

type Fn = keyof MathModule;

const ops: Record<string, (...args: never[]) => unknown> = {
  /** A call through the definition's typed service (its arguments are not type-checked here). */
  service: (fn: Fn, args: unknown[], options?: BalancedCallOptions) => {
    const service = options ? MathBalancer.service.with(options) : MathBalancer.service;
    return (service[fn] as (...a: unknown[]) => Promise<unknown>)(...args);
  },
  /** What the typed service returned for `bytes`: its class and bytes. */
  bytes: async (text: string) => {
    const value = await MathBalancer.service.bytes(text);
    return { isUint8Array: value instanceof Uint8Array, bytes: [...value] };
  },
  /** A direct typed call to `target`. */
  direct: (target: string, a: number, b: number) =>
    node.service<MathModule>(target, 'Math').add(a, b),
  callOnRandomNode: (filter: string, fn: Fn) => MathBalancer.callOnRandomNode(filter, 'Math', fn),
  castOnRandomNode: (filter: string) => MathBalancer.castOnRandomNode(filter, 'Math', 'record'),
  members: () => [...MathBalancer.members()],
  waitForMembers: (count: number) => MathBalancer.waitForMembers(count, { timeout: 10_000 }),
  /** `count` selections with `exclude`, each released: the distinct nodes chosen. */
  selectExcluding: (exclude: string[], count: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const chosen = MathBalancer.selectNode({ key: `k${i}`, exclude });
      MathBalancer.releaseNode(chosen);
      seen.add(chosen);
    }
    return [...seen].sort();
  },
  /** The key's owner and replicas along the ring. */
  replicas: (key: string, count: number) => MathBalancer.balancer?.selectNodes(count, { key }),
  peers: () => node.peers(),
  setRefusing: (refusing: boolean) => {
    state.refusing = refusing;
  },
  state: () => ({ ...state }),
};

process.on('message', async (message: { id: number; op: string; args: unknown[] }) => {
  const op = ops[message.op] as ((...args: unknown[]) => unknown) | undefined;
  try {
    if (!op) throw new Error(`unknown op ${message.op}`);
    send({ id: message.id, ok: true, value: await op(...message.args) });
  } catch (err) {
    const e = err as RpcError;
    const error = { name: e.name, code: e.code, message: e.message, details: e.details };
    send({ id: message.id, ok: false, error: { ...error, notExecuted: e.notExecuted } });
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', name: node.name, address: node.address, advertisedAddress: node.address });
