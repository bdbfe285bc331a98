/**
 * Dials to a peer whose connection this node is closing for idleness wait for that close, and
 * start in the same turn as it (so a caller waiting for the peer never sees nothing under way).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Connection } from '../../../src/transport/connection.js';
import { IdleCloseDials } from '../../../src/transport/idle-dials.js';

const conn = (address: string, closingIdle: boolean) =>
  ({ closingIdle, peer: { address } }) as unknown as Connection;

test('only a connection closing for idleness, to that address, holds a dial back', () => {
  const dials = new IdleCloseDials();
  const a = conn('127.0.0.1:1', true);
  const all = [conn('127.0.0.1:1', false), conn('127.0.0.1:2', true), a];
  assert.equal(dials.closingTo(all, '127.0.0.1:1'), a);
  assert.equal(dials.closingTo(all, '127.0.0.1:3'), undefined);
  assert.equal(dials.closingTo([conn('127.0.0.1:1', false)], '127.0.0.1:1'), undefined);
});

test('waiting dials start when their connection closes, synchronously, and settle as they do', async () => {
  const dials = new IdleCloseDials();
  const closing = conn('127.0.0.1:1', true);
  const started: string[] = [];
  const ok = dials.after(closing, () => {
    started.push('ok');
    return Promise.resolve('peer@h');
  });
  const refused = dials.after(closing, () => {
    started.push('refused');
    return Promise.reject(new Error('refused'));
  });
  dials.closed(conn('127.0.0.1:1', true));
  assert.deepEqual(started, [], 'another connection closing starts nothing');
  dials.closed(closing);
  assert.deepEqual(started, ['ok', 'refused'], 'started inside closed()');
  assert.equal(await ok, 'peer@h');
  await assert.rejects(refused, /refused/);
  dials.closed(closing);
  assert.deepEqual(started, ['ok', 'refused'], 'each dial starts once');
});
