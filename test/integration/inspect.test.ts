/**
 * node.inspect(), inspectPeer() and inspectCluster() with nodes in one process on real sockets:
 * the snapshot's content (peers, groups, balancers with per-member figures, calls in flight),
 * that it survives JSON and the call codec unchanged, and the reserved $rpclb system module.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type AlgorithmContext,
  type LoadBalancer,
  type RpcNode,
  SYSTEM_MODULE,
  startNode,
} from '../../src/index.js';

const quiet = { logLevel: 'silent' as const, cookie: 'inspect' };

describe('inspect', () => {
  let a: RpcNode;
  let b: RpcNode;
  let lb: LoadBalancer;
  let release: () => void = () => {};

  before(async () => {
    a = await startNode({ name: 'i-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 'i-b@127.0.0.1', ...quiet });
    b.expose('T', {
      echo: (x: unknown) => x,
      boom: () => {
        throw new Error('no');
      },
      hold: () => new Promise<void>((resolve) => (release = resolve)),
    });
    await b.startLoadBalancer({ name: 'work' });
    await a.connect(b.address);
    lb = await a.startLoadBalancer({ name: 'work', nodeMatchList: [] });
    await lb.waitForMembers(1, { timeout: 5_000 });
  });
  after(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
  });

  test('a snapshot: peers, groups, balancers with per-member figures, calls in flight', async () => {
    for (let i = 0; i < 4; i++) await lb.call('T', 'echo', [i]);
    await assert.rejects(lb.call('T', 'boom', []));
    const held = lb.call('T', 'hold', []);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const snapshot = a.inspect();
    assert.equal(snapshot.node, a.name);
    assert.deepEqual(
      snapshot.peers.map((p) => [p.name, p.state, p.address, p.protocol]),
      [[b.name, 'up', b.address, 2]],
    );
    assert.ok((snapshot.peers[0]?.load?.ageMs ?? -1) >= 0, 'b reported its load with a reply');
    assert.deepEqual(snapshot.groups, [{ name: 'work', members: [b.name], localJoins: 0 }]);
    const [balancer] = snapshot.balancers;
    assert.equal(balancer?.algorithm, 'LeastLoaded');
    assert.equal(balancer?.inFlight, 1);
    const member = balancer?.members[0];
    assert.deepEqual(
      {
        node: member?.node,
        inFlight: member?.inFlight,
        calls: member?.calls,
        errors: member?.errors,
      },
      { node: b.name, inFlight: 1, calls: 5, errors: 1 },
    );
    assert.equal(member?.latencyMs?.samples, 5);
    assert.ok((member?.latencyMs?.p50 ?? 0) > 0);
    assert.equal(b.inspect().server.inFlight, 1);
    assert.equal(snapshot.client.pending, 1);
    assert.equal(snapshot.runtime?.pid, process.pid);
    assert.equal(snapshot.runtime?.nodeVersion, process.version);
    assert.ok((snapshot.runtime?.uptimeMs ?? -1) > 0, 'the process has been up for some time');
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot, 'plain data');
    release();
    await held;
    assert.equal(a.inspect().balancers[0]?.members[0]?.inFlight, 0);
  });

  test('inspectPeer and inspectCluster fetch snapshots through $rpclb', async () => {
    const remote = await a.inspectPeer(b.name);
    assert.equal(remote.node, b.name);
    assert.deepEqual(remote.groups, [{ name: 'work', members: [b.name], localJoins: 1 }]);
    const cluster = await a.inspectCluster({ timeout: 2_000 });
    assert.deepEqual(
      cluster.nodes.map((n) => n.node),
      [a.name, b.name],
    );
    assert.deepEqual(cluster.unreachable, []);
    await assert.rejects(a.inspectPeer('nobody@127.0.0.1', { timeout: 200 }), {
      code: 'service_unavailable',
    });
    await assert.rejects(a.inspectPeer(b.name, { timeout: -1 }), { code: 'bad_request' });
  });

  test('a peer that answered a load probe shows its round trip', async () => {
    assert.equal(a.inspect().peers[0]?.rttMs, undefined, 'no probe sent yet');
    // An algorithm that probes every member it is told about (AlgorithmContext.probe).
    class Probing {
      readonly #probe: ((node: string) => void) | undefined;
      constructor(ctx: AlgorithmContext) {
        this.#probe = ctx.probe;
      }
      chooseFromNodes(nodes: readonly string[]): string {
        return nodes[0] as string;
      }
      onNodeChange(change: { members: readonly string[] }): void {
        for (const node of change.members) this.#probe?.(node);
      }
    }
    await lb.stop();
    lb = await a.startLoadBalancer({
      name: 'work',
      selectionAlgorithm: Probing,
      nodeMatchList: [],
    });
    const deadline = Date.now() + 5_000;
    while (a.inspect().peers[0]?.rttMs === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const rtt = a.inspect().peers[0]?.rttMs;
    assert.ok(rtt !== undefined && rtt >= 0 && rtt < 5_000, `round trip ${rtt}`);
    assert.equal(a.inspect().balancers.find((b) => b.name === 'work')?.algorithm, 'Probing');
  });

  test('$rpclb is reserved and offers nothing but the snapshot', async () => {
    assert.throws(() => b.expose(SYSTEM_MODULE, { inspect: () => 'forged' }), TypeError);
    assert.throws(() => b.expose('$anything', { f: () => 1 }), /reserved/);
    assert.equal(b.unexpose(SYSTEM_MODULE), false);
    assert.equal((await a.inspectPeer(b.name)).node, b.name, 'still there');
    await assert.rejects(a.call(b.name, SYSTEM_MODULE, 'expose', []), { code: 'not_found' });
    await assert.rejects(a.call(b.name, SYSTEM_MODULE, 'constructor', []), { code: 'not_found' });
  });
});
