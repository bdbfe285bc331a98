import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import { LeastConnections } from '../../../src/algorithms/least-connections.js';
import type {
  AlgorithmContext,
  NodeChange,
  SelectionAlgorithm,
  SelectOptions,
  ServerLoad,
} from '../../../src/algorithms/types.js';
import { LoadBalancer } from '../../../src/balancer/load-balancer.js';
import { RpcError } from '../../../src/errors.js';
import type { OutgoingCall } from '../../../src/rpc/call.js';
import { type ProbeMessage, TRACING_CHANNELS } from '../../../src/tracing.js';
import { FakeHost } from '../../helpers/fake-balancer-host.js';
import { seededRandom } from '../../helpers/random.js';

/** Records what the balancer hands the algorithm. */
class Recorder implements SelectionAlgorithm {
  static last: Recorder;
  readonly seen: SelectOptions[] = [];
  readonly released: [string, unknown][] = [];
  readonly changes: string[] = [];
  constructor() {
    Recorder.last = this;
  }
  chooseFromNodes(nodes: readonly string[], opts: SelectOptions) {
    this.seen.push(opts);
    return nodes[0] as string;
  }
  releaseNode(node: string, outcome?: unknown) {
    this.released.push([node, outcome]);
  }
  onNodeChange(change: { type: string; nodes: readonly string[] }) {
    this.changes.push(`${change.type}:${change.nodes.join(',')}`);
  }
}

function lcCounts(lb: LoadBalancer): Record<string, number> {
  return Object.fromEntries((lb.algorithm as LeastConnections).snapshot());
}

describe('LoadBalancer', () => {
  test('joins its group unless filtered out, and leaves it on stop', async () => {
    const host = new FakeHost('worker1@h');
    const lb = new LoadBalancer(host, { name: 'g' }, LeastConnections);
    assert.deepEqual(lb.members(), ['worker1@h']);
    await lb.stop();
    assert.equal(host.joined.get('g'), 0);
    const filtered = new LoadBalancer(
      new FakeHost('client@h'),
      { name: 'g', nodeMatchList: ['worker', /^db/] },
      LeastConnections,
    );
    assert.deepEqual(filtered.members(), []);
    const regex = new LoadBalancer(
      new FakeHost('db3@h'),
      { name: 'g', nodeMatchList: [/^db\d/] },
      LeastConnections,
    );
    assert.deepEqual(regex.members(), ['db3@h']);
  });

  test('a filtered-out node still selects from the others', () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: ['w'] }, LeastConnections);
    host.setMembers('g', ['w1@h', 'w2@h']);
    assert.ok(['w1@h', 'w2@h'].includes(lb.selectNode()));
  });

  test('selectNode with no members throws service_unavailable', () => {
    const lb = new LoadBalancer(
      new FakeHost('c@h'),
      { name: 'g', nodeMatchList: [] },
      LeastConnections,
    );
    assert.throws(
      () => lb.selectNode(),
      (err: unknown) =>
        err instanceof RpcError &&
        err.code === 'service_unavailable' &&
        err.details.balancer === 'g',
    );
  });

  test('options reach the algorithm unchanged; timeout and signal are stripped for lb.call', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g' }, Recorder);
    const opts = { key: 'k1', region: 'eu' };
    lb.selectNode(opts);
    assert.equal(Recorder.last.seen[0], opts);
    lb.acquire(opts).release();
    assert.equal(Recorder.last.seen[1], opts);
    await lb.call('M', 'f', [], {
      key: 'k2',
      region: 'us',
      timeout: 500,
      signal: new AbortController().signal,
    });
    assert.deepEqual(Recorder.last.seen[2], { key: 'k2', region: 'us' });
    const plain = { key: 'k3' };
    await lb.call('M', 'f', [], plain);
    assert.equal(
      Recorder.last.seen[3],
      plain,
      'options without call-only fields reach it as the same object',
    );
    assert.equal(host.calls[0]?.options.timeout !== undefined, true);
  });

  test('a lease releases once, and not after its node left and rejoined', () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, LeastConnections);
    host.setMembers('g', ['w1@h']);
    const stale = lb.acquire();
    stale.release();
    stale.release();
    assert.deepEqual(lcCounts(lb), { 'w1@h': 0 });
    const old = lb.acquire();
    host.setMembers('g', []);
    host.setMembers('g', ['w1@h']);
    const fresh = lb.acquire();
    assert.deepEqual(lcCounts(lb), { 'w1@h': 1 });
    old.release(); // from before the node left: must not eat the fresh selection's count
    assert.deepEqual(lcCounts(lb), { 'w1@h': 1 });
    fresh.release();
    assert.deepEqual(lcCounts(lb), { 'w1@h': 0 });
  });

  test('manual releases never drive a counter negative; a leaving node loses its counter', () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, LeastConnections);
    host.setMembers('g', ['w1@h', 'w2@h']);
    lb.releaseNode('w1@h');
    lb.releaseNode('nobody@h');
    const picked = lb.selectNode();
    host.setMembers(
      'g',
      ['w1@h', 'w2@h'].filter((n) => n !== picked),
    );
    lb.releaseNode(picked);
    const counts = lcCounts(lb);
    assert.equal(picked in counts, false);
    assert.ok(Object.values(counts).every((c) => c === 0));
  });

  test('lb.call releases with an outcome whatever happens', async () => {
    const host = new FakeHost('w@h');
    let now = 0;
    const lb = new LoadBalancer(host, { name: 'g', now: () => now }, Recorder);
    host.callImpl = async () => {
      now += 7;
      return 'ok';
    };
    await lb.call('M', 'f');
    host.callImpl = async () => {
      now += 3;
      throw new RpcError('internal_server_error', 'boom');
    };
    await assert.rejects(lb.call('M', 'f'), (e: RpcError) => e.details.balancer === 'g');
    assert.deepEqual(Recorder.last.released, [
      ['w@h', { ok: true, latencyMs: 7, at: 7 }],
      ['w@h', { ok: false, latencyMs: 3, at: 10, code: 'internal_server_error' }],
    ]);
  });

  test('a refused, not-executed call is retried on another member; one that may have run is not', async () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(
      host,
      { name: 'g', nodeMatchList: [], random: seededRandom(1) },
      LeastConnections,
    );
    host.setMembers('g', ['a@h', 'b@h']);
    host.callImpl = async (target) => {
      if (target === 'a@h')
        throw new RpcError('service_unavailable', 'draining', { notExecuted: true });
      return target;
    };
    for (let i = 0; i < 5; i++) assert.equal(await lb.call('M', 'f'), 'b@h');
    host.callImpl = async (target) => {
      throw new RpcError('service_unavailable', 'connection lost', { details: { node: target } });
    };
    await assert.rejects(lb.call('M', 'f'), { code: 'service_unavailable' });
    assert.equal(host.calls.length > 5, true);
    const before = host.calls.length;
    await assert.rejects(lb.call('M', 'f'));
    assert.equal(host.calls.length - before, 1, 'a call that may have run is tried once');
    await assert.rejects(lb.call('M', 'f', [], { idempotent: true }));
    assert.equal(
      host.calls.length - before,
      1 + 3,
      'idempotent calls are retried up to maxAttempts',
    );
    assert.deepEqual(lcCounts(lb), { 'a@h': 0, 'b@h': 0 });
  });

  test('with no members, lb.call waits for one within its timeout', async () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, LeastConnections);
    const pending = lb.call('M', 'f', [], { timeout: 2_000 });
    setTimeout(() => host.setMembers('g', ['late@h']), 30);
    assert.equal(await pending, 'late@h');
    host.setMembers('g', []);
    await assert.rejects(lb.call('M', 'f', [], { timeout: 50 }), { code: 'service_unavailable' });
    const noWait = new LoadBalancer(
      host,
      { name: 'h', nodeMatchList: [], waitForMembers: false },
      LeastConnections,
    );
    await assert.rejects(noWait.call('M', 'f', [], { timeout: 5_000 }), {
      code: 'service_unavailable',
    });
  });

  test('waitForMembers resolves once enough members joined, or fails at its timeout', async () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, LeastConnections);
    const waiting = lb.waitForMembers(2, { timeout: 2_000 });
    setTimeout(() => host.setMembers('g', ['a@h']), 10);
    setTimeout(() => host.setMembers('g', ['a@h', 'b@h']), 30);
    assert.deepEqual(await waiting, ['a@h', 'b@h']);
    await assert.rejects(
      lb.waitForMembers(3, { timeout: 30 }),
      (e: RpcError) =>
        e.code === 'service_unavailable' && e.details.reason === 'not_enough_members',
    );
  });

  test('an abort while waiting for members rejects with the signal reason', async () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, LeastConnections);
    const controller = new AbortController();
    const reason = new Error('stop waiting');
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(lb.call('M', 'f', [], { signal: controller.signal }), (e) => e === reason);
  });

  test('selectNodes: distinct members, never more than exist; validates count', () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(
      host,
      { name: 'g', nodeMatchList: [], random: seededRandom(3) },
      LeastConnections,
    );
    host.setMembers('g', ['a@h', 'b@h', 'c@h']);
    const two = lb.selectNodes(2);
    assert.equal(new Set(two).size, 2);
    assert.deepEqual(lb.selectNodes(10).sort(), ['a@h', 'b@h', 'c@h']);
    assert.throws(() => lb.selectNodes(-1), { code: 'bad_request' });
  });

  test('the algorithm hears of every membership change', () => {
    const host = new FakeHost('client@h');
    new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, Recorder);
    host.setMembers('g', ['a@h', 'b@h']);
    host.setMembers('g', ['b@h']);
    host.setMembers('other', ['z@h']);
    assert.deepEqual(Recorder.last.changes, ['join:a@h,b@h', 'leave:a@h']);
  });

  test('the algorithm is built with { balancerName, options, random, now } and told the full member list on each change', () => {
    const random = () => 0.25;
    const now = () => 1_234;
    const contexts: AlgorithmContext<unknown>[] = [];
    const changes: NodeChange[] = [];
    const chosenFrom: (readonly string[])[] = [];
    class Watcher implements SelectionAlgorithm {
      constructor(ctx: AlgorithmContext<unknown>) {
        contexts.push(ctx);
      }
      chooseFromNodes(nodes: readonly string[]) {
        chosenFrom.push(nodes);
        return nodes[0] as string;
      }
      onNodeChange(change: NodeChange) {
        changes.push(change);
      }
    }
    const host = new FakeHost('client@h');
    const algorithmOpts = { depth: 3 };
    const lb = new LoadBalancer(
      host,
      { name: 'g', nodeMatchList: [], algorithmOpts, random, now },
      Watcher,
    );
    assert.equal(contexts.length, 1, 'one instance per balancer');
    const [ctx] = contexts as [AlgorithmContext<unknown>];
    assert.equal(ctx.balancerName, 'g');
    assert.deepEqual(ctx.options, algorithmOpts);
    assert.equal(ctx.random, random);
    assert.equal(ctx.now, now);

    host.setMembers('g', ['c@h', 'a@h']);
    host.setMembers('g', ['a@h', 'b@h', 'c@h']);
    host.setMembers('g', ['b@h', 'c@h']);
    assert.deepEqual(
      changes.map(({ type, nodes, members }) => [type, [...nodes], [...members]]),
      [
        ['join', ['a@h', 'c@h'], ['a@h', 'c@h']],
        ['join', ['b@h'], ['a@h', 'b@h', 'c@h']],
        ['leave', ['a@h'], ['b@h', 'c@h']],
      ],
    );
    // The list chooseFromNodes gets is the one the last change announced.
    assert.equal(lb.selectNode(), 'b@h');
    assert.deepEqual(chosenFrom.at(-1), changes.at(-1)?.members);
  });

  test('bad options throw a TypeError naming the field', () => {
    const host = new FakeHost();
    assert.throws(() => new LoadBalancer(host, { name: '' }, LeastConnections), /option "name"/);
    assert.throws(
      () => new LoadBalancer(host, { name: 'g', nodeMatchList: 'some' as never }, LeastConnections),
      /option "nodeMatchList"/,
    );
    assert.throws(
      () => new LoadBalancer(host, { name: 'g', maxAttempts: 0 }, LeastConnections),
      /option "maxAttempts"/,
    );
  });

  test('stop waits for calls in flight, then refuses new ones', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g' }, LeastConnections);
    let finish: (v: unknown) => void = () => {};
    host.callImpl = () => new Promise((resolve) => (finish = resolve));
    const inFlight = lb.call('M', 'f');
    let stopped = false;
    const stopping = lb.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stopped, false);
    finish('done');
    assert.equal(await inFlight, 'done');
    await stopping;
    await assert.rejects(lb.call('M', 'f'), { code: 'service_unavailable' });
  });
});

/** An algorithm whose methods throw on demand. */
class Faulty implements SelectionAlgorithm {
  static last: Faulty;
  failChoose: Error | undefined;
  failChange = false;
  failRelease = false;
  returns: string | undefined;
  constructor() {
    Faulty.last = this;
  }
  chooseFromNodes(nodes: readonly string[]) {
    if (this.failChoose) throw this.failChoose;
    return this.returns ?? (nodes[0] as string);
  }
  onNodeChange() {
    if (this.failChange) throw new Error('bug in onNodeChange');
  }
  releaseNode() {
    if (this.failRelease) throw new Error('bug in releaseNode');
  }
}

describe('LoadBalancer: containing the algorithm, outcomes, reasons', () => {
  test('an algorithm that throws fails that selection with an RpcError and is logged; the balancer goes on', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g' }, Faulty);
    Faulty.last.failChoose = new Error('bug in chooseFromNodes');
    const err = await lb.call('M', 'f').then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e as RpcError,
    );
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, 'internal_server_error');
    assert.equal(err.details.reason, 'algorithm_error');
    assert.equal(err.details.balancer, 'g');
    assert.throws(
      () => lb.selectNode(),
      (e: RpcError) => e.code === 'internal_server_error',
    );
    assert.match(host.logged.join('\n'), /chooseFromNodes\(\) threw.*bug in chooseFromNodes/s);
    // a TypeError says the selection options were unusable
    Faulty.last.failChoose = new TypeError('bad key');
    assert.throws(
      () => lb.selectNode(),
      (e: RpcError) => e.code === 'bad_request',
    );
    Faulty.last.failChoose = undefined;
    // a node that is not a member is refused
    Faulty.last.returns = 'stranger@h';
    assert.throws(() => lb.selectNode(), /not a member/);
    Faulty.last.returns = undefined;
    assert.equal(await lb.call('M', 'f'), 'w@h');
  });

  test('selectNodes refuses a chooseNodes answer that is not distinct members (algorithm_error)', () => {
    const answers: unknown[] = [];
    class Replicas implements SelectionAlgorithm {
      chooseFromNodes(nodes: readonly string[]) {
        return nodes[0] as string;
      }
      chooseNodes() {
        return answers.shift() as string[];
      }
    }
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, Replicas);
    host.setMembers('g', ['a@h', 'b@h', 'c@h']);
    const wrong: [unknown, RegExp][] = [
      [['a@h', 'stranger@h'], /"stranger@h", which is not a member/],
      [['b@h', 'b@h'], /"b@h" twice/],
      [['a@h', 'b@h', 'c@h'], /3 nodes for 2 asked/],
      ['a@h', /not an array/],
      [[42], /42, which is not a member/],
    ];
    for (const [answer, message] of wrong) {
      answers.push(answer);
      assert.throws(
        () => lb.selectNodes(2),
        (e: unknown) =>
          e instanceof RpcError &&
          e.code === 'internal_server_error' &&
          e.details.reason === 'algorithm_error' &&
          message.test(e.message),
        `answer ${JSON.stringify(answer)}`,
      );
    }
    answers.push(['c@h', 'a@h']);
    assert.deepEqual(lb.selectNodes(2), ['c@h', 'a@h']);
    answers.push([]);
    assert.deepEqual(lb.selectNodes(2), []);
  });

  test('onNodeChange and releaseNode that throw are contained; membership still follows the group', async () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, Faulty);
    Faulty.last.failChange = true;
    Faulty.last.failRelease = true;
    host.setMembers('g', ['a@h', 'b@h']);
    assert.deepEqual(lb.members(), ['a@h', 'b@h']);
    assert.equal(await lb.call('M', 'f'), 'a@h');
    assert.ok(host.logged.some((l) => /onNodeChange\(\) threw/.test(l)));
  });

  test('lb.cast checks its options like lb.call: bad_request naming the field, nothing selected', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g' }, LeastConnections);
    const bad: [unknown, string][] = [
      [{ timeout: -1 }, 'timeout'],
      [{ timeout: Number.NaN }, 'timeout'],
      [{ signal: 5 }, 'signal'],
      [{ meta: 'not an object' }, 'meta'],
      [{ waitForMembers: 'yes' }, 'waitForMembers'],
      [null, 'options'],
    ];
    for (const [opts, field] of bad) {
      for (const send of [lb.cast, lb.call]) {
        const err = await send.call(lb, 'M', 'f', [], opts as never).then(
          () => assert.fail(`expected bad_request for ${JSON.stringify(opts)}`),
          (e: unknown) => e,
        );
        assert.ok(err instanceof RpcError, `${send.name} ${JSON.stringify(opts)}: ${err}`);
        assert.equal(err.code, 'bad_request');
        assert.equal(err.details.field, field);
        assert.equal(err.details.balancer, 'g');
      }
    }
    assert.deepEqual(lcCounts(lb), { 'w@h': 0 });
    await lb.cast('M', 'f', [], { timeout: 50 });
  });

  test('selectNode, selectNodes and acquire refuse options that are not an object with bad_request', () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g' }, LeastConnections);
    for (const opts of [null, 'key', 42]) {
      for (const select of [
        () => lb.selectNode(opts as never),
        () => lb.selectNodes(1, opts as never),
        () => lb.acquire(opts as never),
      ]) {
        assert.throws(select, (e: unknown) => {
          assert.ok(e instanceof RpcError, String(e));
          assert.equal(e.code, 'bad_request');
          assert.equal(e.details.field, 'options');
          assert.equal(e.details.balancer, 'g');
          return true;
        });
      }
    }
    assert.deepEqual(lcCounts(lb), { 'w@h': 0 });
  });

  test('the outcome carries the failure code, so an algorithm can tell a dead node from a bad call', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g' }, Recorder);
    for (const code of ['bad_request', 'service_unavailable', 'request_timeout'] as const) {
      host.callImpl = async () => {
        throw new RpcError(code, code);
      };
      await lb.call('M', 'f').catch(() => {});
    }
    assert.deepEqual(
      Recorder.last.released.map(([, o]) => (o as { code?: string }).code),
      ['bad_request', 'service_unavailable', 'request_timeout'],
    );
  });

  test('the outcome carries the server’s load when the reply did, stamped on the balancer’s clock', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g', now: () => 500 }, Recorder);
    host.send = (attempt: OutgoingCall) => {
      attempt.load = { inFlight: 4, elu: 0.25, at: 123 };
      attempt.end(true, 'ok');
    };
    await lb.call('M', 'f');
    assert.deepEqual(Recorder.last.released[0]?.[1], {
      ok: true,
      latencyMs: 0,
      at: 500,
      load: { inFlight: 4, elu: 0.25, at: 500 },
    });
  });

  test('lb.cast reports an outcome too', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g', now: () => 0 }, Recorder);
    await lb.cast('M', 'f', []);
    host.cast = () => Promise.reject(new RpcError('service_unavailable', 'gone'));
    await assert.rejects(lb.cast('M', 'f', []), { code: 'service_unavailable' });
    assert.deepEqual(Recorder.last.released, [
      ['w@h', { ok: true, latencyMs: 0, at: 0 }],
      ['w@h', { ok: false, latencyMs: 0, at: 0, code: 'service_unavailable' }],
    ]);
  });

  test('a manual release after its node left and rejoined is ignored (like a lease)', () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, LeastConnections);
    host.setMembers('g', ['w1@h']);
    const old = lb.selectNode();
    host.setMembers('g', []);
    host.setMembers('g', ['w1@h']);
    const fresh = lb.selectNode();
    assert.deepEqual(lcCounts(lb), { 'w1@h': 1 });
    lb.releaseNode(old); // the second release of 'w1@h' must not count: one was selected since
    lb.releaseNode(old);
    assert.deepEqual(lcCounts(lb), { 'w1@h': 0 });
    lb.releaseNode(fresh);
    assert.deepEqual(lcCounts(lb), { 'w1@h': 0 });
  });

  test('a stopped balancer says balancer_stopped whichever way it is asked', async () => {
    const host = new FakeHost('w@h');
    const lb = new LoadBalancer(host, { name: 'g' }, LeastConnections);
    await lb.stop();
    for (const attempt of [() => lb.selectNode(), () => lb.acquire(), () => lb.selectNodes(1)]) {
      assert.throws(attempt, (e: RpcError) => e.details.reason === 'balancer_stopped');
    }
    await assert.rejects(
      lb.call('M', 'f'),
      (e: RpcError) => e.details.reason === 'balancer_stopped',
    );
    await assert.rejects(
      lb.cast('M', 'f'),
      (e: RpcError) => e.details.reason === 'balancer_stopped',
    );
  });

  test('an algorithm can probe members; the answer reaches onProbeResult on the balancer’s clock', async () => {
    const host = new FakeHost('client@h');
    host.probe = (target: string) =>
      target === 'a@h'
        ? Promise.resolve({ inFlight: 2, elu: 0.5, at: 1 })
        : Promise.reject(new RpcError('service_unavailable', 'no'));
    const results: [string, unknown][] = [];
    class Prober implements SelectionAlgorithm {
      constructor(readonly ctx: { probe?: (node: string) => void }) {}
      chooseFromNodes(nodes: readonly string[]) {
        for (const n of nodes) this.ctx.probe?.(n);
        return nodes[0] as string;
      }
      onProbeResult(node: string, load: unknown) {
        results.push([node, load]);
      }
    }
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [], now: () => 77 }, Prober);
    host.setMembers('g', ['a@h', 'b@h']);
    lb.selectNode();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(results, [['a@h', { inFlight: 2, elu: 0.5, at: 77 }]]);
  });
});

/**
 * A `LeastConnections` balancer over a@h, b@h and c@h whose outlier detection ejects a member
 * after two failures in a row, for 1 s of `clock.now`.
 */
function ejectingBalancer(clock: { now: number }, options: { random?: () => number } = {}) {
  const host = new FakeHost('client@h');
  const lb = new LoadBalancer(
    host,
    {
      name: 'g',
      nodeMatchList: [],
      now: () => clock.now,
      ...options,
      outlierDetection: { consecutiveFailures: 2, baseEjectionTimeMs: 1_000 },
    },
    LeastConnections,
  );
  host.setMembers('g', ['a@h', 'b@h', 'c@h']);
  return { host, lb };
}

describe('LoadBalancer: outlier ejection, retry budget, probes before a pick', () => {
  test('a member ejected by outlier detection is never picked until its time is up (unless in panic)', async () => {
    const clock = { now: 0 };
    const { host, lb } = ejectingBalancer(clock, { random: seededRandom(3) });
    host.callImpl = async (target) => {
      if (target === 'a@h') throw new RpcError('request_timeout', 'too slow');
      return target;
    };
    for (let i = 0; i < 12; i++) await lb.call('M', 'f').catch(() => {});
    assert.deepEqual(lb.ejected(), ['a@h']);
    for (let i = 0; i < 200; i++) assert.notEqual(lb.selectNode(), 'a@h');
    clock.now = 1_001;
    const picks = new Set(Array.from({ length: 200 }, () => lb.selectNode()));
    assert.ok(picks.has('a@h'), 'back after the ejection time');
    assert.deepEqual(lb.ejected(), []);
  });

  test('an ejection keeps the algorithm’s state: a member’s calls in flight are still counted through it', async () => {
    const clock = { now: 0 };
    const { host, lb } = ejectingBalancer(clock);
    // one selection held open on each member; then a@h fails twice and is ejected
    const held = [lb.selectNode(), lb.selectNode(), lb.selectNode()];
    assert.deepEqual([...held].sort(), ['a@h', 'b@h', 'c@h']);
    host.callImpl = async (target) => {
      if (target === 'a@h') throw new RpcError('service_unavailable', 'down');
      return target;
    };
    for (let i = 0; i < 60 && lb.ejected().length === 0; i++) {
      await lb.call('M', 'f').catch(() => {});
    }
    assert.deepEqual(lb.ejected(), ['a@h']);
    const picks = Array.from({ length: 50 }, () => lb.selectNode());
    assert.equal(picks.includes('a@h'), false, 'an ejected member is not picked');
    for (const node of picks) lb.releaseNode(node);
    // the algorithm was never handed a list without a@h: its count of a@h is still there
    assert.equal(lcCounts(lb)['a@h'], 1, 'the selection held on a@h before its ejection');
    clock.now = 1_001;
    for (const node of held) lb.releaseNode(node);
    assert.deepEqual(lcCounts(lb), { 'a@h': 0, 'b@h': 0, 'c@h': 0 });
  });

  test('in panic (too few healthy members) the balancer picks from all of them', async () => {
    const host = new FakeHost('client@h');
    const lb = new LoadBalancer(
      host,
      {
        name: 'g',
        nodeMatchList: [],
        selectionAlgorithm: undefined,
        outlierDetection: {
          consecutiveFailures: 1,
          maxEjectionPercent: 100,
          panicThresholdPercent: 60,
        },
      },
      LeastConnections,
    );
    host.setMembers('g', ['a@h', 'b@h']);
    host.callImpl = async (target) => {
      if (target === 'a@h') throw new RpcError('service_unavailable', 'down');
      return target;
    };
    // Ties go either way at random: call until a@h has been picked (and failed) once.
    for (let i = 0; i < 200 && lb.ejected().length === 0; i++) {
      await lb.call('M', 'f').catch(() => {});
    }
    assert.deepEqual(lb.ejected(), ['a@h']);
    // one of two healthy is 50 %, below the 60 % threshold: panic, everyone is offered
    const picks = new Set(Array.from({ length: 100 }, () => lb.selectNode()));
    assert.deepEqual([...picks].sort(), ['a@h', 'b@h']);
  });

  test('a spent retry budget fails the call with the real error; retries within it succeed', async () => {
    const host = new FakeHost('client@h');
    const now = 0;
    const lb = new LoadBalancer(
      host,
      {
        name: 'g',
        nodeMatchList: [],
        now: () => now,
        outlierDetection: false,
        retryBudget: { minRetriesPerSecond: 0.2, percentCanRetry: 0, ttlMs: 10_000 },
      },
      RoundRobinFirst,
    );
    host.setMembers('g', ['a@h', 'b@h']);
    host.callImpl = async (target) => {
      if (target === 'a@h')
        throw new RpcError('service_unavailable', 'refused', { notExecuted: true });
      return target;
    };
    // the reserve is 0.2/s over 10 s: two retries
    assert.equal(await lb.call('M', 'f'), 'b@h');
    assert.equal(await lb.call('M', 'f'), 'b@h');
    const err = await lb.call('M', 'f').then(
      () => assert.fail('expected the refusal'),
      (e: RpcError) => e,
    );
    assert.equal(err.message, 'refused');
    assert.equal(err.code, 'service_unavailable');
  });

  test('lb.call probes the members the algorithm asks for, then picks with the answers', async () => {
    const host = new FakeHost('client@h');
    const probed: string[] = [];
    host.probe = async (target: string) => {
      probed.push(target);
      return { inFlight: target === 'a@h' ? 9 : 1, elu: 0.1, at: 0 };
    };
    const lb = new LoadBalancer(host, { name: 'g', nodeMatchList: [] }, ProbeFirst);
    host.setMembers('g', ['a@h', 'b@h']);
    const messages: ProbeMessage[] = [];
    const listener = (m: unknown) => messages.push(m as ProbeMessage);
    channel(TRACING_CHANNELS.probe).subscribe(listener);
    try {
      assert.equal(await lb.call('M', 'f'), 'b@h', 'the less loaded member, from the probes');
    } finally {
      channel(TRACING_CHANNELS.probe).unsubscribe(listener);
    }
    assert.deepEqual(probed.sort(), ['a@h', 'b@h']);
    assert.deepEqual(messages.map((m) => [m.target, m.ok, m.load?.inFlight]).sort(), [
      ['a@h', true, 9],
      ['b@h', true, 1],
    ]);
    assert.equal(ProbeFirst.last.picksWithAnswers, 1);
    // selectNode never waits for probes
    probed.length = 0;
    lb.selectNode();
    assert.deepEqual(probed, []);
  });

  test('a probe that does not answer within probeTimeoutMs does not hold the call', async () => {
    const host = new FakeHost('client@h');
    host.probe = (target: string, timeoutMs: number) =>
      target === 'a@h'
        ? new Promise((_, reject) =>
            setTimeout(() => reject(new RpcError('request_timeout', 'x')), timeoutMs),
          )
        : Promise.resolve({ inFlight: 0, elu: 0, at: 0 });
    const lb = new LoadBalancer(
      host,
      { name: 'g', nodeMatchList: [], probeTimeoutMs: 20 },
      ProbeFirst,
    );
    host.setMembers('g', ['a@h', 'b@h']);
    const started = performance.now();
    assert.equal(await lb.call('M', 'f'), 'b@h');
    assert.ok(performance.now() - started < 1_000);
  });
});

/** Always the first member: retries then go to the same member unless it is avoided. */
class RoundRobinFirst implements SelectionAlgorithm {
  #next = 0;
  chooseFromNodes(nodes: readonly string[]) {
    return nodes[this.#next++ % nodes.length] as string;
  }
}

/** Asks to probe every member before each pick, and picks the lowest reported load. */
class ProbeFirst implements SelectionAlgorithm {
  static last: ProbeFirst;
  readonly loads = new Map<string, number>();
  picksWithAnswers = 0;
  constructor() {
    ProbeFirst.last = this;
  }
  probeTargets(nodes: readonly string[]) {
    return this.loads.size === 0 ? nodes : [];
  }
  onProbeResult(node: string, load: ServerLoad) {
    this.loads.set(node, load.inFlight);
  }
  chooseFromNodes(nodes: readonly string[]) {
    if (this.loads.size === 0) return nodes[0] as string;
    this.picksWithAnswers++;
    // a member that did not answer counts as the most loaded
    const load = (n: string) => this.loads.get(n) ?? Number.POSITIVE_INFINITY;
    const best = [...nodes].sort((x, y) => load(x) - load(y))[0];
    this.loads.clear();
    return best as string;
  }
}
