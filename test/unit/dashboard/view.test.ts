/**
 * The dashboard's view model: what the page shows, made from cluster snapshots. Rates come from
 * two snapshots of the same balancer; node and link states from who answered and who reports
 * whom; balancers that never made a call are listed apart.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ViewBuilder } from '../../../src/dashboard/view.js';
import type {
  BalancerSnapshot,
  ClusterSnapshot,
  MemberSnapshot,
  NodeSnapshot,
  PeerSnapshot,
} from '../../../src/index.js';

const peer = (name: string, state: PeerSnapshot['state'] = 'up'): PeerSnapshot => ({
  name,
  state,
  address: `${name}:1`,
  protocol: 2,
});

function node(name: string, at: number, extra: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    node: name,
    address: `${name}:1`,
    at,
    peers: [],
    groups: [],
    balancers: [],
    server: { inFlight: 0, elu: 0.25 },
    client: { pending: 0 },
    runtime: { pid: 1, nodeVersion: 'v20.0.0', uptimeMs: 5_000 },
    ...extra,
  };
}

const member = (n: string, calls: number, errors = 0, inFlight = 0): MemberSnapshot => ({
  node: n,
  inFlight,
  calls,
  errors,
  ...(calls > 0 ? { latencyMs: { samples: calls, p50: 2, p90: 3, p99: 9, max: 10 } } : {}),
});

const balancer = (name: string, members: MemberSnapshot[], ejected: string[] = []) =>
  ({
    name,
    algorithm: 'LeastConnections',
    stopped: false,
    inFlight: 0,
    members,
    ejected,
  }) satisfies BalancerSnapshot;

const cluster = (nodes: NodeSnapshot[], unreachable: ClusterSnapshot['unreachable'] = []) => ({
  node: nodes[0]?.node ?? 'o',
  at: nodes[0]?.at ?? 0,
  nodes,
  unreachable,
});

describe('dashboard view', () => {
  test('calls/s and error rate come from the difference between two snapshots', () => {
    const builder = new ViewBuilder();
    const first = builder.build(
      cluster([node('o', 1_000, { balancers: [balancer('lb', [member('w1', 10)])] })]),
      [],
    );
    assert.equal(first.balancers[0]?.members[0]?.callsPerS, 0, 'no previous snapshot');
    assert.equal(first.balancers[0]?.members[0]?.errorRate, null);
    const second = builder.build(
      cluster([
        node('o', 1_500, { balancers: [balancer('lb', [member('w1', 60, 5, 3)], ['w1'])] }),
      ]),
      [],
    );
    const m = second.balancers[0]?.members[0];
    assert.deepEqual(
      { callsPerS: m?.callsPerS, errorRate: m?.errorRate, inFlight: m?.inFlight },
      { callsPerS: 100, errorRate: 0.1, inFlight: 3 },
    );
    assert.equal(m?.p99Ms, 9);
    assert.equal(m?.ejected, true);
  });

  test('a member whose counters went back (it left and joined again) shows no rate', () => {
    const builder = new ViewBuilder();
    const at = (t: number, calls: number) =>
      cluster([node('o', t, { balancers: [balancer('lb', [member('w1', calls)])] })]);
    builder.build(at(1_000, 500), []);
    const view = builder.build(at(2_000, 20), []);
    assert.equal(view.balancers[0]?.members[0]?.callsPerS, 0);
    assert.equal(builder.build(at(3_000, 70), []).balancers[0]?.members[0]?.callsPerS, 50);
  });

  test('balancers without a call are idle, except the observer’s own', () => {
    const view = new ViewBuilder().build(
      cluster([
        node('o', 1, { balancers: [balancer('mine', [member('w1', 0)])] }),
        node('w1', 1, { balancers: [balancer('busy', [member('w2', 3)]), balancer('lb', [])] }),
      ]),
      [],
    );
    assert.deepEqual(
      view.balancers.map((b) => `${b.node}/${b.name}`),
      ['o/mine', 'w1/busy'],
    );
    assert.deepEqual(view.idle, ['w1 / lb (LeastConnections)']);
  });

  test('nodes: who answered, who did not, who only peers report; groups and runtime', () => {
    const view = new ViewBuilder().build(
      cluster(
        [
          node('o', 1, { peers: [peer('w1'), peer('w2')] }),
          node('w1', 1, {
            peers: [peer('o'), peer('w3')],
            groups: [
              { name: 'jobs', members: ['w1'], localJoins: 1 },
              { name: 'other', members: ['w2'], localJoins: 0 },
            ],
          }),
        ],
        [{ node: 'w2', code: 'request_timeout', message: 'no reply' }],
      ),
      [{ at: 5, text: 'w4 down (closed)' }],
    );
    assert.deepEqual(
      view.nodes.map((n) => [n.name, n.state, n.observer]),
      [
        ['o', 'up', true],
        ['w1', 'up', false],
        ['w2', 'unreachable', false],
        ['w3', 'remote', false],
      ],
    );
    const w1 = view.nodes.find((n) => n.name === 'w1');
    assert.deepEqual(w1?.groups, ['jobs'], 'only the groups it joined');
    assert.equal(w1?.runtime?.nodeVersion, 'v20.0.0');
    assert.equal(view.nodes.find((n) => n.name === 'w2')?.error, 'request_timeout: no reply');
    assert.deepEqual(view.events, [{ at: 5, text: 'w4 down (closed)' }]);
  });

  test('links: up when both ends report them, else one-way, leaving or unknown', () => {
    const view = new ViewBuilder().build(
      cluster([
        node('o', 1, { peers: [peer('w1'), peer('w2'), peer('w3', 'leaving'), peer('x')] }),
        node('w1', 1, { peers: [peer('o')] }),
        node('w2', 1, { peers: [] }),
        node('w3', 1, { peers: [peer('o')] }),
      ]),
      [],
    );
    assert.deepEqual(
      view.links.map((l) => [l.a, l.b, l.state]),
      [
        ['o', 'w1', 'up'],
        ['o', 'w2', 'one-way'],
        ['o', 'w3', 'leaving'],
        ['o', 'x', 'unknown'],
      ],
    );
  });
});
