/**
 * Every `details.reason` in ERROR_REASONS, produced for real (nodes in one process on
 * 127.0.0.1, raw peers where only a hand-made frame can do it), with the code the table
 * gives; and the reference page lists exactly the table. A reason added without a scenario
 * here, or without a line in the docs, fails this file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  algorithms,
  currentCall,
  ERROR_REASONS,
  RpcError,
  type RpcErrorReason,
  type RpcNode,
  type SelectionAlgorithm,
  startNode,
} from '../../src/index.js';
import { encodeValue } from '../../src/rpc/codec.js';
import { GoodbyeReason, MessageType } from '../../src/transport/message-types.js';
import { MemoryRegistry } from '../helpers/memory-discovery.js';
import { unusedAddress } from '../helpers/ports.js';
import { RawPeer } from '../helpers/raw-peer.js';

const COOKIE = 'reasons';
const quiet = { logLevel: 'silent' as const, cookie: COOKIE };

/** The RpcError a promise (or a function) fails with. */
async function failure(p: Promise<unknown> | (() => unknown)): Promise<RpcError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    assert.ok(err instanceof RpcError, `expected an RpcError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a failure');
}

class Throwing implements SelectionAlgorithm {
  chooseFromNodes(): string {
    throw new Error('bug');
  }
}

describe('every details.reason, produced for real', () => {
  let a: RpcNode;
  let b: RpcNode;
  const scenarios: Record<RpcErrorReason, () => Promise<RpcError>> = {
    bad_address: () => failure(a.connect('no-port-here')),
    unencodable_arguments: () => failure(a.call(b.name, 'T', 'echo', [() => 1])),
    frame_too_large: () => failure(a.call(b.name, 'T', 'echo', ['x'.repeat(70_000)])),
    bad_meta: () => failure(a.call(b.name, 'T', 'echo', [], { meta: { traceparent: 'nope' } })),
    meta_too_large: () =>
      failure(a.call(b.name, 'T', 'echo', [], { meta: { big: 'x'.repeat(17_000) } })),
    bad_trailer: () => failure(a.call(b.name, 'T', 'badTrailer', [])),
    all_excluded: async () => {
      const lb = await a.startLoadBalancer({ name: 'excl' });
      try {
        return failure(lb.call('T', 'echo', [1], { exclude: [a.name] }));
      } finally {
        await lb.stop();
      }
    },
    no_matching_node: () => failure(a.callOnRandomNode('nobody-by-that-name', 'T', 'echo', [])),
    invalid_arguments: () => failure(a.call(b.name, 'Checked', 'half', ['two'])),
    undecodable_arguments: async () => {
      const peer = await RawPeer.connect(b.address);
      try {
        await peer.handshake({ name: 'zz-raw1@127.0.0.1', cookie: COOKIE });
        const reply = await peer.call('T', 'echo', [], 5_000, Buffer.from([0x92, 0x01]));
        return rebuilt(reply.value);
      } finally {
        peer.destroy();
      }
    },
    bad_arguments: async () => {
      const peer = await RawPeer.connect(b.address);
      try {
        await peer.handshake({ name: 'zz-raw2@127.0.0.1', cookie: COOKIE });
        const reply = await peer.call('T', 'echo', [], 5_000, encodeValue({ not: 'an array' }));
        return rebuilt(reply.value);
      } finally {
        peer.destroy();
      }
    },
    selection_failed: async () => {
      const lb = await a.startLoadBalancer({
        name: 'ring',
        selectionAlgorithm: algorithms.HashRing,
      });
      try {
        return await failure(() => lb.selectNode({ key: {} as unknown as string }));
      } finally {
        await lb.stop();
      }
    },
    algorithm_error: async () => {
      const lb = await a.startLoadBalancer({ name: 'throwing', selectionAlgorithm: Throwing });
      try {
        return await failure(lb.call('T', 'echo', []));
      } finally {
        await lb.stop();
      }
    },
    unencodable_result: () => failure(a.call(b.name, 'T', 'unencodable', [])),
    no_members: async () => {
      const lb = await a.startLoadBalancer({
        name: 'empty',
        nodeMatchList: [],
        waitForMembers: false,
      });
      try {
        return await failure(lb.call('T', 'echo', []));
      } finally {
        await lb.stop();
      }
    },
    not_enough_members: async () => {
      const lb = await a.startLoadBalancer({ name: 'few' });
      try {
        return await failure(lb.waitForMembers(5, { timeout: 50 }));
      } finally {
        await lb.stop();
      }
    },
    balancer_stopped: async () => {
      const lb = await a.startLoadBalancer({ name: 'stopped' });
      await lb.stop();
      return failure(() => lb.selectNode());
    },
    not_connected: () => failure(a.call('ghost@127.0.0.1', 'T', 'echo', [])),
    connection_lost: async () => {
      const c = await startNode({ name: 'r-c@127.0.0.1', ...quiet });
      c.expose('T', { never: () => new Promise(() => {}) });
      await a.connect(c.address);
      const pending = failure(a.call(c.name, 'T', 'never', []));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await c.destroy();
      return pending;
    },
    draining: async () => {
      const d = await startNode({ name: 'r-d@127.0.0.1', ...quiet });
      let release = () => {};
      d.expose('T', {
        hold: () => new Promise<void>((resolve) => (release = resolve)),
        echo: (x: unknown) => x,
      });
      await a.connect(d.address);
      const held = a.call(d.name, 'T', 'hold', []);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closing = d.close({ drainTimeoutMs: 2_000 });
      const refused = await failure(a.call(d.name, 'T', 'echo', [1]));
      release();
      await held;
      await closing;
      return refused;
    },
    connection_idle: async () => {
      // A raw peer that takes idle closes: it calls right after the node's idle goodbye, as a
      // caller whose call crossed the goodbye on the wire would.
      const registry = new MemoryRegistry();
      const n = await startNode({
        name: 'r-idle@127.0.0.1',
        ...quiet,
        connections: { mode: 'on-demand', idleTimeoutMs: 50 },
        discovery: () => registry.discovery(),
      });
      n.expose('T', { echo: (x: unknown) => x });
      const name = 'zz-idle@127.0.0.1';
      registry.entries.set(name, { name, address: '127.0.0.1:1', incarnation: 'i', groups: {} });
      registry.publish();
      const peer = await RawPeer.connect(n.address);
      try {
        await peer.handshake({ name, cookie: COOKIE, idleClose: true });
        const idleGoodbye = (f: Buffer) =>
          f[0] === MessageType.Goodbye && f[1] === GoodbyeReason.Idle;
        await peer.nextFrame(idleGoodbye, 5_000);
        return rebuilt((await peer.call('T', 'echo', [1])).value);
      } finally {
        peer.destroy();
        await n.destroy();
      }
    },
    node_closed: async () => {
      const e = await startNode({ name: 'r-e@127.0.0.1', ...quiet });
      await e.close();
      return failure(e.call(b.name, 'T', 'echo', []));
    },
    send_queue_full: async () => {
      // a peer that authenticates, then stops reading: the node's frames pile up
      const sender = await startNode({
        name: 'r-g@127.0.0.1',
        ...quiet,
        maxSendQueueBytes: 1 << 20,
      });
      const peer = await RawPeer.connect(sender.address);
      try {
        await peer.handshake({ name: 'zz-slow@127.0.0.1', cookie: COOKIE });
        peer.pauseReading();
        const big = 'x'.repeat(256 * 1024);
        for (let i = 0; i < 400; i++) {
          const refused = await sender.cast('zz-slow@127.0.0.1', 'T', 'echo', [big]).then(
            () => undefined,
            (err: unknown) => err,
          );
          if (refused !== undefined) {
            assert.ok(refused instanceof RpcError, String(refused));
            return refused;
          }
          // let the writer hand what it queued to the socket, as a busy node would
          if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
        }
        assert.fail('the send queue never filled');
      } finally {
        peer.destroy();
        await sender.destroy();
      }
    },
    listen_failed: async () => {
      const port = Number(a.address.split(':')[1]);
      return failure(startNode({ name: 'r-f@127.0.0.1', port, ...quiet }));
    },
    discovery_failed: async () => {
      const discovery = {
        kind: 'broken',
        start: async () => {
          throw new Error('no client package');
        },
        stop() {},
      };
      return failure(startNode({ name: 'r-d@127.0.0.1', discovery, ...quiet }));
    },
    connect_failed: async () => {
      return failure(a.connect(await unusedAddress()));
    },
  };

  before(async () => {
    a = await startNode({ name: 'r-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 'r-b@127.0.0.1', ...quiet, maxFrameBytes: 65_536 });
    b.expose('T', {
      echo: (x: unknown) => x,
      unencodable: () => () => 1,
      badTrailer: () => currentCall()?.setTrailer('', 1),
    });
    const isNumber = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: (value: unknown) =>
          typeof value === 'number' ? { value } : { issues: [{ message: 'not a number' }] },
      },
    };
    b.expose('Checked', { half: (n: number) => n / 2 }, { schemas: { half: [isNumber] } });
    await a.connect(b.address);
  });
  after(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
  });

  for (const [reason, { code }] of Object.entries(ERROR_REASONS)) {
    test(`${reason} (${code})`, async () => {
      const scenario = scenarios[reason as RpcErrorReason];
      const err = await scenario();
      assert.equal(err.details.reason, reason, err.message);
      assert.equal(err.code, code, err.message);
    });
  }

  test('the reference page lists exactly these reasons, with their codes', () => {
    const whole = readFileSync(new URL('../../../docs/reference/api.md', import.meta.url), 'utf8');
    const page = whole.slice(whole.indexOf('Every `details.reason`'));
    const listed = [...page.matchAll(/^\| `([a-z_]+)` \| `([a-z_]+)` \|/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    assert.deepEqual(
      listed,
      Object.entries(ERROR_REASONS).map(([reason, { code }]) => [reason, code]),
    );
  });
});

/** An `RpcError` from the wire form a raw peer received. */
function rebuilt(value: unknown): RpcError {
  const wire = value as { code: 'bad_request'; message: string; details: Record<string, unknown> };
  return new RpcError(wire.code, wire.message, { details: wire.details });
}
