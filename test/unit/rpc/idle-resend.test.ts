/**
 * A call its peer refused because it was closing the connection for idleness
 * (`connection_idle`, not executed) is sent again over the next connection, through the client
 * against fake connections: the re-sent frame, its bounds (time left, send queue), and the
 * refusals that are not re-sent.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RpcError, type RpcErrorDetails, toWireError } from '../../../src/errors.js';
import type { Logger } from '../../../src/logger.js';
import { type ClientHost, RpcClient } from '../../../src/rpc/client.js';
import { MESSAGE_CODEC } from '../../../src/rpc/codec.js';
import { RpcLink, type Wire } from '../../../src/rpc/link.js';
import { RpcServer } from '../../../src/rpc/server.js';
import {
  decodeRequest,
  encodeReply,
  frameBytes,
  frameId,
  type OutgoingFrame,
} from '../../../src/rpc/wire.js';
import { MessageType } from '../../../src/transport/message-types.js';

const SELF = 'self@127.0.0.1';
const PEER = 'peer@127.0.0.1';

/** A protocol-1 connection stand-in that records the CALL frames sent on it. */
class FakeWire implements Wire {
  readonly peerName = PEER;
  readonly protocol = 1;
  readonly sendLimit = 1 << 20;
  closed = false;
  sendQueueFull = false;
  readonly calls: Buffer[] = [];
  readonly link = new RpcLink(this);
  send(frame: Buffer): void {
    this.push(frame);
  }
  send2(header: Buffer, body: Buffer): void {
    this.push({ header, body });
  }
  push(frame: OutgoingFrame): void {
    const payload = frameBytes(frame).subarray(4);
    if (payload[0] === MessageType.Call) this.calls.push(payload);
  }
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A client whose connection to PEER is `first` until the test swaps it; `waitForConnection`
 * records its arguments and resolves when the test says (`connect`).
 */
function setup(options: { canWait?: boolean } = {}) {
  const first = new FakeWire();
  let current: FakeWire | undefined = first;
  const waits: { peer: string; timeoutMs: number }[] = [];
  let connect: (connected: boolean) => void = () => assert.fail('no wait started');
  const host: ClientHost = {
    selfName: SELF,
    defaultTimeoutMs: 10_000,
    captureCallSites: false,
    logger: quiet,
    server: new RpcServer({ selfName: SELF, logger: quiet, exposeErrorStacks: true }),
    link: (peer) => (peer === PEER ? current?.link : undefined),
  };
  if (options.canWait !== false) {
    host.waitForConnection = (peer, timeoutMs) => {
      waits.push({ peer, timeoutMs });
      return new Promise<boolean>((resolve) => {
        connect = resolve;
      });
    };
  }
  const client = new RpcClient(host);
  return {
    client,
    first,
    waits,
    /** The connection PEER has from now on (none: `undefined`). */
    swap(next: FakeWire | undefined) {
      current = next;
    },
    connect: (connected: boolean) => connect(connected),
  };
}

/** Answers the last CALL on `wire` with an ERROR reply carrying `err`. */
function refuse(client: RpcClient, wire: FakeWire, err: RpcError): void {
  const id = frameId(wire.calls.at(-1) as Buffer);
  const frame = encodeReply(MESSAGE_CODEC, MessageType.ReplyError, id, toWireError(err));
  assert.equal(client.onReply(wire.link, frameBytes(frame).subarray(4)), true);
}

/** Answers the last CALL on `wire` with an OK reply carrying `value`. */
function answer(client: RpcClient, wire: FakeWire, value: unknown): void {
  const id = frameId(wire.calls.at(-1) as Buffer);
  const frame = encodeReply(MESSAGE_CODEC, MessageType.ReplyOk, id, value);
  assert.equal(client.onReply(wire.link, frameBytes(frame).subarray(4)), true);
}

function refusal(reason: string, notExecuted = true): RpcError {
  const details: RpcErrorDetails = { node: PEER, reason };
  return new RpcError('service_unavailable', `refused (${reason})`, { details, notExecuted });
}

const idle = () => refusal('connection_idle');

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  return p.then(
    (v) => assert.fail(`expected a rejection, got ${String(v)}`),
    (e: unknown) => {
      assert.ok(e instanceof RpcError);
      return e;
    },
  );
}

describe('a call refused for idleness', () => {
  test('is sent again on the next connection, with a new id and the time it has left', async () => {
    const { client, first, waits, swap, connect } = setup();
    const p = client.call(PEER, 'Jobs', 'run', [7], { timeout: 5_000 });
    const second = new FakeWire();
    swap(second);
    refuse(client, first, idle());
    assert.equal(waits.length, 1);
    assert.equal(waits[0]?.peer, PEER);
    assert.ok((waits[0]?.timeoutMs ?? 0) <= 5_000 && (waits[0]?.timeoutMs ?? 0) >= 1);
    assert.equal(client.pendingCount, 1, 'still pending while it waits');
    assert.deepEqual(client.busyLinks(), new Set(), 'detached from the closing connection');
    connect(true);
    await new Promise(setImmediate);
    assert.equal(first.calls.length, 1);
    assert.equal(second.calls.length, 1);
    const before = decodeRequest(first.calls[0] as Buffer);
    const again = decodeRequest(second.calls[0] as Buffer);
    assert.ok(before && again);
    assert.notEqual(again.id, before.id);
    assert.equal(again.module, 'Jobs');
    assert.equal(again.fn, 'run');
    assert.ok(again.timeoutMs <= before.timeoutMs && again.timeoutMs >= 1);
    answer(client, second, 'done');
    assert.equal(await p, 'done');
    assert.equal(client.pendingCount, 0);
  });

  test('a reply that still arrives on the closing connection under the old id is ignored', async () => {
    const { client, first, swap, connect } = setup();
    const p = client.call(PEER, 'Jobs', 'run', []);
    const oldId = frameId(first.calls[0] as Buffer);
    const second = new FakeWire();
    swap(second);
    refuse(client, first, idle());
    connect(true);
    await new Promise(setImmediate);
    const late = encodeReply(MESSAGE_CODEC, MessageType.ReplyOk, oldId, 'stale');
    client.onReply(first.link, frameBytes(late).subarray(4));
    assert.equal(client.pendingCount, 1);
    answer(client, second, 'fresh');
    assert.equal(await p, 'fresh');
  });

  test('fails with send_queue_full when the next connection is over its send bound', async () => {
    const { client, first, swap, connect } = setup();
    const p = client.call(PEER, 'Jobs', 'run', []);
    const second = new FakeWire();
    second.sendQueueFull = true;
    swap(second);
    refuse(client, first, idle());
    connect(true);
    const err = await rejection(p);
    assert.equal(err.code, 'service_unavailable');
    assert.equal(err.details.reason, 'send_queue_full');
    assert.equal(err.notExecuted, true);
    assert.equal(second.calls.length, 0);
    assert.equal(client.pendingCount, 0);
  });

  test('fails with not_connected when no connection comes', async () => {
    const { client, first, swap, connect } = setup();
    const p = client.call(PEER, 'Jobs', 'run', []);
    swap(undefined);
    refuse(client, first, idle());
    connect(false);
    const err = await rejection(p);
    assert.equal(err.details.reason, 'not_connected');
    assert.equal(client.pendingCount, 0);
  });

  test('ends with its own timeout while it waits, and is not sent when the connection comes late', async () => {
    const { client, first, swap, connect } = setup();
    const p = client.call(PEER, 'Jobs', 'run', [], { timeout: 20 });
    const second = new FakeWire();
    swap(second);
    refuse(client, first, idle());
    const err = await rejection(p);
    assert.equal(err.code, 'request_timeout');
    connect(true);
    await new Promise(setImmediate);
    assert.equal(second.calls.length, 0);
    assert.equal(client.pendingCount, 0);
  });

  test('fails with node_closed when the node closes while it waits', async () => {
    const { client, first, swap, connect } = setup();
    const p = client.call(PEER, 'Jobs', 'run', []);
    const second = new FakeWire();
    swap(second);
    refuse(client, first, idle());
    client.rejectAll('node closing');
    const err = await rejection(p);
    assert.equal(err.details.reason, 'node_closed');
    connect(true);
    await new Promise(setImmediate);
    assert.equal(second.calls.length, 0);
  });
});

describe('refusals that are not sent again', () => {
  for (const [what, err] of [
    ['another reason', refusal('draining')],
    ['a connection_idle refusal marked executed', refusal('connection_idle', false)],
  ] as const) {
    test(`${what}: the call fails with the refusal, no wait`, async () => {
      const { client, first, waits } = setup();
      const p = client.call(PEER, 'Jobs', 'run', []);
      refuse(client, first, err);
      const got = await rejection(p);
      assert.equal(got.details.reason, err.details.reason);
      assert.equal(waits.length, 0);
    });
  }

  test('a node that cannot wait for connections: the call fails with connection_idle', async () => {
    const { client, first } = setup({ canWait: false });
    const p = client.call(PEER, 'Jobs', 'run', []);
    refuse(client, first, idle());
    const err = await rejection(p);
    assert.equal(err.details.reason, 'connection_idle');
    assert.equal(err.notExecuted, true);
  });
});
