import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { FLUSH_THRESHOLD_BYTES, FrameWriter } from '../../../src/transport/frame-writer.js';

/** A socket stand-in that records every write and answers `write()` with `accept`. */
class FakeSocket extends EventEmitter {
  readonly writes: Buffer[] = [];
  accept = true;
  corked = 0;
  writableLength = 0;
  write(buf: Buffer): boolean {
    this.writes.push(buf);
    return this.accept;
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    this.corked--;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.writes);
  }
}

function setup(): { socket: FakeSocket; writer: FrameWriter } {
  const socket = new FakeSocket();
  return { socket, writer: new FrameWriter(socket as unknown as Socket) };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const frame = (text: string) => Buffer.from(text);

describe('FrameWriter', () => {
  test('frames written in one turn leave in one socket write at the end of the turn', async () => {
    const { socket, writer } = setup();
    writer.write(frame('aa'));
    writer.write(frame('bb'));
    writer.write2(frame('cc'), frame('dd'));
    assert.equal(socket.writes.length, 0, 'nothing is written synchronously');
    assert.equal(writer.queuedBytes, 8);
    await nextTurn();
    assert.equal(socket.writes.length, 1);
    assert.equal(socket.bytes.toString(), 'aabbccdd');
    assert.equal(writer.queuedBytes, 0);
  });

  test('a queue past the threshold is flushed at once', () => {
    const { socket, writer } = setup();
    writer.write(Buffer.alloc(FLUSH_THRESHOLD_BYTES - 10));
    assert.equal(socket.writes.length, 0);
    writer.write(Buffer.alloc(20));
    assert.equal(socket.bytes.length, FLUSH_THRESHOLD_BYTES + 10);
    assert.equal(writer.queuedBytes, 0);
  });

  test('large bodies go out next to their header without being copied', () => {
    const { socket, writer } = setup();
    const body = Buffer.alloc(FLUSH_THRESHOLD_BYTES, 7);
    const header = frame('HDR');
    writer.write2(header, body);
    assert.ok(socket.writes.includes(body), 'the body buffer itself was handed to the socket');
    assert.equal(socket.corked, 0, 'cork and uncork are balanced');
    assert.deepEqual(socket.bytes, Buffer.concat([header, body]));
  });

  test('after write() returns false nothing more is written until drain', async () => {
    const { socket, writer } = setup();
    socket.accept = false;
    writer.write(frame('1'));
    await nextTurn();
    assert.equal(socket.writes.length, 1);
    socket.accept = true;
    writer.write(frame('2'));
    writer.write(frame('3'));
    await nextTurn();
    assert.equal(socket.writes.length, 1, 'blocked: frames wait in the queue');
    writer.write(Buffer.alloc(FLUSH_THRESHOLD_BYTES));
    assert.equal(socket.writes.length, 1, 'even past the threshold');
    assert.equal(writer.queuedBytes, 2 + FLUSH_THRESHOLD_BYTES);
    socket.emit('drain');
    assert.equal(socket.bytes.subarray(0, 3).toString(), '123');
    assert.equal(socket.bytes.length, 3 + FLUSH_THRESHOLD_BYTES);
    assert.equal(writer.queuedBytes, 0);
  });

  test('order is kept across blocking, drain and threshold flushes', async () => {
    const { socket, writer } = setup();
    const expected: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const f = Buffer.alloc(1 + ((i * 7919) % 9000), i);
      expected.push(f);
      if (i % 3 === 0) writer.write2(f.subarray(0, 1), f.subarray(1));
      else writer.write(f);
      socket.accept = i % 17 !== 0;
      if (i % 25 === 0) socket.emit('drain');
      if (i % 10 === 0) await nextTurn();
    }
    socket.accept = true;
    socket.emit('drain');
    await nextTurn();
    assert.deepEqual(socket.bytes, Buffer.concat(expected));
  });

  test('close(true) flushes what is queued, even when blocked; later writes are dropped', () => {
    const { socket, writer } = setup();
    socket.accept = false;
    writer.write(Buffer.alloc(FLUSH_THRESHOLD_BYTES));
    writer.write(frame('tail'));
    writer.close(true);
    assert.equal(socket.bytes.subarray(-4).toString(), 'tail');
    const before = socket.writes.length;
    writer.write(frame('late'));
    writer.write2(frame('la'), frame('te'));
    socket.emit('drain');
    assert.equal(socket.writes.length, before);
    assert.equal(writer.queuedBytes, 0);
  });

  test('close(false) drops what is queued', async () => {
    const { socket, writer } = setup();
    writer.write(frame('never'));
    writer.close(false);
    await nextTurn();
    assert.equal(socket.writes.length, 0);
  });

  test('pendingBytes counts the queue and what the socket buffers', () => {
    const { socket, writer } = setup();
    writer.write(frame('abc'));
    socket.writableLength = 10;
    assert.equal(writer.pendingBytes, 13);
  });
});
