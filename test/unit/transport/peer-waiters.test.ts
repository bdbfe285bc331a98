import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PeerWaiters } from '../../../src/transport/peer-waiters.js';

/** A transport stand-in: which peers are connected, which could still come. */
function setup() {
  const connected = new Map<string, string>();
  const coming = new Set<string>();
  const waiters = new PeerWaiters<string>({
    connection: (peer) => connected.get(peer),
    couldLeadTo: (peer) => coming.has(peer),
  });
  return { connected, coming, waiters };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('PeerWaiters', () => {
  test('resolves at once with a ready connection, or undefined when nothing could lead to the peer', async () => {
    const { connected, waiters } = setup();
    connected.set('a', 'conn-a');
    assert.equal(await waiters.wait('a', 1_000), 'conn-a');
    assert.equal(await waiters.wait('b', 1_000), undefined);
    assert.equal(waiters.size, 0);
  });

  test('waits while a dial could lead to the peer; wake() settles it with the connection', async () => {
    const { connected, coming, waiters } = setup();
    coming.add('a');
    const waiting = waiters.wait('a', 5_000);
    waiters.wake();
    await turn();
    assert.equal(waiters.size, 1, 'still coming: still waiting');
    connected.set('a', 'conn-a');
    waiters.wake();
    assert.equal(await waiting, 'conn-a');
  });

  test('resolves undefined on the wake after the last dial that could lead to it ended', async () => {
    const { coming, waiters } = setup();
    coming.add('a');
    const waiting = waiters.wait('a', 5_000);
    coming.delete('a');
    waiters.wake();
    assert.equal(await waiting, undefined);
  });

  test('ends at the timeout, on abort, and on clear()', async () => {
    const { coming, waiters } = setup();
    coming.add('a');
    const started = Date.now();
    assert.equal(await waiters.wait('a', 30), undefined);
    assert.ok(Date.now() - started >= 25);
    const controller = new AbortController();
    const aborted = waiters.wait('a', 5_000, controller.signal);
    controller.abort();
    assert.equal(await aborted, undefined);
    const cleared = waiters.wait('a', 5_000);
    waiters.clear();
    assert.equal(await cleared, undefined);
    assert.equal(waiters.size, 0);
    assert.equal(await waiters.wait('a', 5_000, AbortSignal.abort()), undefined);
  });
});
