/**
 * The replication layer of process groups, with fake connections and no network: monitor
 * delivery, unsubscribe, double join and leave, full sync and deltas, drop on down, and what
 * happens to messages from a connection that is no longer the peer's current one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type GroupEvent,
  GroupReplicator,
  type GroupsHost,
} from '../../../src/membership/groups.js';
import { encodeValue } from '../../../src/rpc/codec.js';
import type { Connection } from '../../../src/transport/connection.js';
import { buildFrame } from '../../../src/transport/frames.js';
import { MessageType } from '../../../src/transport/message-types.js';

/** One end of a connection: what the replicator sends through it stays in `sent`. */
class FakeConnection {
  readonly sent: Buffer[] = [];
  constructor(readonly peerName: string) {}
  send(frame: Buffer): void {
    this.sent.push(frame);
  }
}

/** A replicator with its own table of current connections and a log it can be checked on. */
class Member {
  readonly conns = new Map<string, FakeConnection>();
  readonly logs: string[] = [];
  readonly groups: GroupReplicator;

  constructor(readonly name: string) {
    const host: GroupsHost = {
      logger: {
        debug: () => {},
        info: () => {},
        warn: (m) => this.logs.push(`warn: ${m}`),
        error: (m) => this.logs.push(`error: ${m}`),
      },
      connections: () => [...this.conns.values()] as unknown as Connection[],
      connection: (peer) => this.conns.get(peer) as unknown as Connection | undefined,
    };
    this.groups = new GroupReplicator(name, host);
  }
}

/** Connects `a` and `b` (both ends current) and runs the connect-time sync both ways. */
function link(a: Member, b: Member): { ab: FakeConnection; ba: FakeConnection } {
  const ab = new FakeConnection(b.name);
  const ba = new FakeConnection(a.name);
  a.conns.set(b.name, ab);
  b.conns.set(a.name, ba);
  a.groups.onPeerUp(ab as unknown as Connection);
  b.groups.onPeerUp(ba as unknown as Connection);
  return { ab, ba };
}

/** Delivers everything queued on `from` to `to`, as arriving on `via` (the receiving end). */
function flush(from: FakeConnection, to: Member, via: FakeConnection): void {
  for (const frame of from.sent.splice(0)) {
    // Frames are `[u32 length][type][body]`; the decoder hands the layers `[type][body]`.
    to.groups.onMessage(via as unknown as Connection, frame[4] as number, frame.subarray(4));
  }
}

/** A payload as the decoder would deliver it. */
function payload(type: number, body: unknown): Buffer {
  return buildFrame(type, encodeValue(body)).subarray(4);
}

/** Records the events of `group` on `member`. */
function record(member: Member, group: string): { events: GroupEvent[]; stop: () => void } {
  const events: GroupEvent[] = [];
  const stop = member.groups.monitor(group, (e) => events.push(e));
  return { events, stop };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('GroupReplicator monitors', () => {
  test('are never called synchronously inside join or leave, and get one event per change', async () => {
    const a = new Member('a');
    const { events } = record(a, 'g');
    a.groups.join('g');
    assert.deepEqual(events, [], 'not called inside join');
    a.groups.join('g');
    a.groups.leave('g');
    assert.deepEqual(events, [], 'not called inside leave');
    await tick();
    assert.deepEqual(events, [{ type: 'join', nodes: ['a'] }]);
    a.groups.leave('g');
    assert.deepEqual(events.length, 1);
    await tick();
    assert.deepEqual(events, [
      { type: 'join', nodes: ['a'] },
      { type: 'leave', nodes: ['a'] },
    ]);
  });

  test('a double join needs a double leave; leaving a group not joined does nothing', async () => {
    const a = new Member('a');
    const b = new Member('b');
    const { ab, ba } = link(a, b);
    const { events } = record(b, 'g');
    a.groups.join('g');
    a.groups.join('g');
    flush(ab, b, ba);
    assert.deepEqual(a.groups.members('g'), ['a']);
    assert.deepEqual(b.groups.members('g'), ['a']);
    a.groups.leave('g');
    flush(ab, b, ba);
    assert.deepEqual(b.groups.members('g'), ['a'], 'still a member after one leave of two');
    a.groups.leave('g');
    a.groups.leave('g');
    a.groups.leave('never-joined');
    flush(ab, b, ba);
    assert.deepEqual(b.groups.members('g'), []);
    await tick();
    assert.deepEqual(
      events.map((e) => e.type),
      ['join', 'leave'],
    );
  });

  test('unsubscribing stops delivery, even of a change already made', async () => {
    const a = new Member('a');
    const { events, stop } = record(a, 'g');
    a.groups.join('g');
    stop();
    await tick();
    assert.deepEqual(events, []);
    stop();
    a.groups.leave('g');
    await tick();
    assert.deepEqual(events, []);
  });

  test('the same listener monitoring twice is called twice; each unsubscribe removes one', async () => {
    const a = new Member('a');
    let calls = 0;
    const listener = () => calls++;
    const stop1 = a.groups.monitor('g', listener);
    a.groups.monitor('g', listener);
    a.groups.join('g');
    await tick();
    assert.equal(calls, 2);
    stop1();
    a.groups.leave('g');
    await tick();
    assert.equal(calls, 3);
  });

  test('a monitor started after a change does not receive that change', async () => {
    const a = new Member('a');
    const early = record(a, 'g');
    a.groups.join('g');
    // Same tick as the join: members() already includes 'a', so an event would count it twice.
    assert.deepEqual(a.groups.members('g'), ['a']);
    const { events } = record(a, 'g');
    await tick();
    assert.deepEqual(early.events, [{ type: 'join', nodes: ['a'] }]);
    assert.deepEqual(events, []);
    a.groups.leave('g');
    await tick();
    assert.deepEqual(events, [{ type: 'leave', nodes: ['a'] }]);
  });

  test('a listener that throws is logged and does not keep others from their events', async () => {
    const a = new Member('a');
    a.groups.monitor('g', () => {
      throw new Error('listener bug');
    });
    const { events } = record(a, 'g');
    a.groups.join('g');
    await tick();
    assert.equal(events.length, 1);
    assert.ok(
      a.logs.some((l) => l.includes('listener bug')),
      a.logs.join('\n'),
    );
  });

  test('a monitor throwing a non-Error, or rejecting, and an observer throwing are contained', async () => {
    const a = new Member('a');
    const escaped: unknown[] = [];
    const onEscape = (err: unknown) => escaped.push(err);
    process.on('uncaughtException', onEscape);
    process.on('unhandledRejection', onEscape);
    try {
      a.groups.monitor('g', () => {
        throw null;
      });
      a.groups.monitor('g', async () => {
        throw new Error('async monitor bug');
      });
      a.groups.observe(() => {
        throw new Error('observer bug');
      });
      const observed: string[] = [];
      a.groups.observe((change) => observed.push(`${change.type} ${change.group}`));
      const { events } = record(a, 'g');
      a.groups.join('g');
      await tick();
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(escaped, []);
      assert.equal(events.length, 1, 'the other monitor heard the join');
      assert.deepEqual(observed, ['join g'], 'the other observer heard it');
      for (const expected of [
        'error: monitor of group "g" threw: null',
        'error: monitor of group "g" threw: Error: async monitor bug',
        'error: observer of group "g" threw: Error: observer bug',
      ]) {
        assert.ok(
          a.logs.some((l) => l.startsWith(expected)),
          `${expected}\n${a.logs.join('\n')}`,
        );
      }
    } finally {
      process.off('uncaughtException', onEscape);
      process.off('unhandledRejection', onEscape);
    }
  });

  test('monitor() rejects a bad group or listener', () => {
    const a = new Member('a');
    assert.throws(() => a.groups.monitor('', () => {}), TypeError);
    assert.throws(() => a.groups.monitor(42 as unknown as string, () => {}), TypeError);
    assert.throws(() => a.groups.monitor('g', 'nope' as unknown as () => void), TypeError);
  });

  test('internal observers are told synchronously', () => {
    const a = new Member('a');
    const seen: string[] = [];
    const stop = a.groups.observe((c) => seen.push(`${c.type} ${c.group} ${c.nodes}`));
    a.groups.join('g');
    assert.deepEqual(seen, ['join g a']);
    stop();
    a.groups.leave('g');
    assert.deepEqual(seen, ['join g a']);
  });
});

describe('GroupReplicator replication', () => {
  test('a new connection gets the full local state, counts included', () => {
    const a = new Member('a');
    a.groups.join('x');
    a.groups.join('x');
    a.groups.join('y');
    const b = new Member('b');
    const { ab, ba } = link(a, b);
    flush(ab, b, ba);
    assert.deepEqual(b.groups.members('x'), ['a']);
    assert.deepEqual(b.groups.members('y'), ['a']);
    // The synced count is 2: one leave keeps a in x.
    a.groups.leave('x');
    flush(ab, b, ba);
    assert.deepEqual(b.groups.members('x'), ['a']);
    a.groups.leave('x');
    flush(ab, b, ba);
    assert.deepEqual(b.groups.members('x'), []);
  });

  test('each change is broadcast to every current connection', () => {
    const [a, b, c] = [new Member('a'), new Member('b'), new Member('c')];
    const l1 = link(a, b);
    const l2 = link(a, c);
    a.groups.join('g');
    flush(l1.ab, b, l1.ba);
    flush(l2.ab, c, l2.ba);
    assert.deepEqual(b.groups.members('g'), ['a']);
    assert.deepEqual(c.groups.members('g'), ['a']);
  });

  test('members are distinct, sorted, and include this node when joined', () => {
    const [a, b, c] = [new Member('c@h'), new Member('a@h'), new Member('b@h')];
    for (const other of [b, c]) {
      const { ab, ba } = link(other, a);
      other.groups.join('g');
      other.groups.join('g');
      flush(ab, a, ba);
    }
    a.groups.join('g');
    assert.deepEqual(a.groups.members('g'), ['a@h', 'b@h', 'c@h']);
    assert.ok(Object.isFrozen(a.groups.members('g')));
  });

  test('a peer going down drops everything it owned at once, one leave per group', async () => {
    const a = new Member('a');
    const b = new Member('b');
    const { ab, ba } = link(a, b);
    a.groups.join('x');
    a.groups.join('x');
    a.groups.join('y');
    flush(ab, b, ba);
    const x = record(b, 'x');
    const y = record(b, 'y');
    b.conns.delete('a');
    b.groups.onPeerDown('a');
    assert.deepEqual(b.groups.members('x'), []);
    assert.deepEqual(b.groups.members('y'), []);
    await tick();
    assert.deepEqual(x.events, [{ type: 'leave', nodes: ['a'] }]);
    assert.deepEqual(y.events, [{ type: 'leave', nodes: ['a'] }]);
  });

  test('messages from a connection that is not the peer current one are ignored', () => {
    const a = new Member('a');
    const b = new Member('b');
    const old = link(a, b);
    a.groups.join('g');
    // b replaces its connection to a (a reconnect); frames still queued on the old one arrive late.
    const stale = old.ba;
    b.groups.onPeerDown('a');
    b.conns.set('a', new FakeConnection('a'));
    flush(old.ab, b, stale);
    assert.deepEqual(b.groups.members('g'), [], 'the stale delta was ignored');
    b.groups.onMessage(
      stale as unknown as Connection,
      MessageType.GroupSync,
      payload(MessageType.GroupSync, { g: 1 }),
    );
    assert.deepEqual(b.groups.members('g'), [], 'the stale sync was ignored');
    // And from a connection to a peer we have no connection to at all.
    const stranger = new FakeConnection('z');
    b.groups.onMessage(
      stranger as unknown as Connection,
      MessageType.GroupSync,
      payload(MessageType.GroupSync, { g: 1 }),
    );
    assert.deepEqual(b.groups.members('g'), []);
    // The current connection is heard.
    b.groups.onMessage(
      b.conns.get('a') as unknown as Connection,
      MessageType.GroupSync,
      payload(MessageType.GroupSync, { g: 1 }),
    );
    assert.deepEqual(b.groups.members('g'), ['a']);
  });

  test('a sync replaces what the peer owned; deltas are absolute and replays are harmless', async () => {
    const b = new Member('b');
    const conn = new FakeConnection('a');
    b.conns.set('a', conn);
    const via = conn as unknown as Connection;
    const { events } = record(b, 'x');
    b.groups.onMessage(via, MessageType.GroupSync, payload(MessageType.GroupSync, { x: 1, y: 3 }));
    b.groups.onMessage(via, MessageType.GroupSync, payload(MessageType.GroupSync, { y: 1 }));
    assert.deepEqual(b.groups.members('x'), []);
    assert.deepEqual(b.groups.members('y'), ['a']);
    for (let i = 0; i < 2; i++) {
      b.groups.onMessage(via, MessageType.GroupDelta, payload(MessageType.GroupDelta, ['x', 2]));
    }
    assert.deepEqual(b.groups.members('x'), ['a']);
    b.groups.onMessage(via, MessageType.GroupDelta, payload(MessageType.GroupDelta, ['x', 0]));
    assert.deepEqual(b.groups.members('x'), []);
    await tick();
    assert.deepEqual(
      events.map((e) => e.type),
      ['join', 'leave', 'join', 'leave'],
    );
  });

  test('malformed or unreadable group messages are ignored', () => {
    const b = new Member('b');
    const conn = new FakeConnection('a');
    b.conns.set('a', conn);
    const via = conn as unknown as Connection;
    const bad: [number, unknown][] = [
      [MessageType.GroupDelta, ['x', -1]],
      [MessageType.GroupDelta, ['x', 1.5]],
      [MessageType.GroupDelta, ['', 1]],
      [MessageType.GroupDelta, [7, 1]],
      [MessageType.GroupDelta, { x: 1 }],
      [MessageType.GroupSync, ['x', 1]],
      [MessageType.GroupSync, { x: 'many', '': 1, y: 0 }],
    ];
    for (const [type, body] of bad) b.groups.onMessage(via, type, payload(type, body));
    b.groups.onMessage(via, MessageType.GroupSync, Buffer.from([MessageType.GroupSync, 0x92]));
    assert.deepEqual(b.groups.list(), []);
    assert.ok(
      b.logs.some((l) => l.includes('unreadable group message')),
      b.logs.join('\n'),
    );
  });
});
