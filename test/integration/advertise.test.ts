/**
 * The advertised address (`advertiseAddress`), with nodes in one process on real sockets: what
 * a node tells its peers in HELLO and peer lists, the wildcard rule, and bad values. Across
 * hosts (network namespaces) it is tested in test/multiprocess/netns.test.ts.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import {
  DIAGNOSTICS_CHANNELS,
  type NodeUpMessage,
  type RpcNode,
  startNode,
} from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';

const quiet = { cookie: 'adv', logLevel: 'silent' as const };

/** Starts nodes and destroys them when the test ends. */
function starter(t: { after(fn: () => unknown): void }) {
  const nodes: RpcNode[] = [];
  t.after(() => Promise.all(nodes.map((n) => n.destroy())));
  return async (options: Parameters<typeof startNode>[0]) => {
    const node = await startNode({ ...quiet, ...options });
    nodes.push(node);
    return node;
  };
}

test('a node on a wildcard host with advertiseAddress gives out that address, not a loopback one', async (t) => {
  const start = starter(t);
  const ups: NodeUpMessage[] = [];
  const listener = (m: unknown) => ups.push(m as NodeUpMessage);
  subscribe(DIAGNOSTICS_CHANNELS.nodeUp, listener);
  t.after(() => unsubscribe(DIAGNOSTICS_CHANNELS.nodeUp, listener));

  // 127.0.0.2 is this machine too (all of 127/8 is), but not the address it would default to.
  const a = await start({
    name: 'adv-a@127.0.0.2',
    host: '0.0.0.0',
    advertiseAddress: '127.0.0.2',
  });
  const port = Number(a.address.split(':').pop());
  assert.equal(a.address, `0.0.0.0:${port}`, 'address is where it listens');
  assert.equal(a.advertisedAddress, `127.0.0.2:${port}`, 'port defaults to the bound one');

  const b = await start({ name: 'adv-b@127.0.0.1', seeds: [a.advertisedAddress] });
  assert.equal(b.advertisedAddress, b.address, 'a specific listen host is advertised as is');
  await waitFor(() => b.peers().includes(a.name), 5_000, 'b connected to a');
  // c knows only b; it learns a from b's peer list, by a's advertised address.
  const c = await start({ name: 'adv-c@127.0.0.1', seeds: [b.address] });
  await waitFor(() => c.peers().includes(a.name), 5_000, 'c learnt a from b');
  const seenByC = ups.find((m) => m.node === c.name && m.peer === a.name);
  assert.equal(seenByC?.address, `127.0.0.2:${port}`);
  assert.equal(
    ups.find((m) => m.node === a.name && m.peer === b.name)?.address,
    b.address,
    'HELLO carries the advertised address',
  );
});

test('advertiseAddress "host:port" (a proxy in front of the node) is advertised as given', async (t) => {
  const start = starter(t);
  const a = await start({ name: 'adv-p@127.0.0.1', advertiseAddress: 'localhost:4999' });
  assert.equal(a.advertisedAddress, 'localhost:4999');
  const b = await start({ name: 'adv-q@127.0.0.1' });
  await b.connect(a.address);
  const ups: NodeUpMessage[] = [];
  const listener = (m: unknown) => ups.push(m as NodeUpMessage);
  subscribe(DIAGNOSTICS_CHANNELS.nodeUp, listener);
  t.after(() => unsubscribe(DIAGNOSTICS_CHANNELS.nodeUp, listener));
  const c = await start({ name: 'adv-r@127.0.0.1' });
  await c.connect(b.address);
  // b's peer list tells c to dial a at localhost:4999, where nobody listens: c never gets a.
  await waitFor(() => ups.find((m) => m.node === c.name && m.peer === b.name), 5_000, 'c up');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(c.peers(), [b.name]);
});

test('a wildcard host without advertiseAddress is refused unless the name gives a usable host', async (t) => {
  const start = starter(t);
  for (const host of ['0.0.0.0', '::']) {
    await assert.rejects(start({ name: 'adv-w@127.0.0.1', host }), (err: Error) => {
      assert.ok(err instanceof TypeError, `${err.name}: ${err.message}`);
      assert.match(err.message, /advertiseAddress/);
      assert.match(err.message, /loopback/);
      return true;
    });
  }
  await assert.rejects(start({ name: 'adv-w@no-such-host.invalid', host: '0.0.0.0' }), {
    name: 'TypeError',
    message: /advertiseAddress.*no-such-host\.invalid/s,
  });
});

test('bad advertiseAddress values are refused with a TypeError naming the option', async (t) => {
  const start = starter(t);
  for (const bad of [
    '0.0.0.0',
    '::',
    '[::]:4370',
    '0.0.0.0:80',
    'a:b:c',
    'host:0',
    'host:70000',
    '',
    42,
  ]) {
    await assert.rejects(start({ advertiseAddress: bad as string }), (err: Error) => {
      assert.ok(err instanceof TypeError, `${JSON.stringify(bad)}: ${err.name}`);
      assert.match(err.message, /advertiseAddress/);
      return true;
    });
  }
});
