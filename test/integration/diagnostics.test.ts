/**
 * diagnostics_channel events, with several nodes in one process on real 127.0.0.1 sockets.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { DIAGNOSTICS_CHANNELS, type RpcNode, startNode } from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';

test('node up/down, group changes and refused connections are published', async (t) => {
  const seen: { channel: string; message: Record<string, unknown> }[] = [];
  const listeners = Object.values(DIAGNOSTICS_CHANNELS).map((channel) => {
    const listener = (message: unknown) =>
      seen.push({ channel, message: message as Record<string, unknown> });
    subscribe(channel, listener);
    return [channel, listener] as const;
  });
  const nodes: RpcNode[] = [];
  t.after(async () => {
    for (const [channel, listener] of listeners) unsubscribe(channel, listener);
    await Promise.all(nodes.map((n) => n.destroy()));
  });
  const quiet = { logLevel: 'silent' as const };
  const a = await startNode({ name: 'diag-a@127.0.0.1', cookie: 'c1', ...quiet });
  const b = await startNode({ name: 'diag-b@127.0.0.1', cookie: 'c1', ...quiet });
  const stranger = await startNode({ name: 'diag-x@127.0.0.1', cookie: 'other', ...quiet });
  nodes.push(a, b, stranger);
  const find = (channel: string, match: (m: Record<string, unknown>) => boolean) =>
    seen.find((s) => s.channel === channel && match(s.message));

  await b.connect(a.address);
  await waitFor(
    () => find(DIAGNOSTICS_CHANNELS.nodeUp, (m) => m.node === a.name && m.peer === b.name),
    5_000,
    'node up on a',
  );
  assert.ok(
    find(
      DIAGNOSTICS_CHANNELS.nodeUp,
      (m) => m.node === b.name && m.peer === a.name && m.address === a.address,
    ),
  );

  b.groups.join('g');
  await waitFor(
    () =>
      find(
        DIAGNOSTICS_CHANNELS.groupChange,
        (m) => m.node === a.name && m.group === 'g' && m.type === 'join',
      ),
    5_000,
    'group change on a',
  );

  await assert.rejects(stranger.connect(a.address), { code: 'service_unavailable' });
  await waitFor(
    () => find(DIAGNOSTICS_CHANNELS.connectionDropped, (m) => m.reason === 'wrong cookie'),
    5_000,
    'refused connection',
  );

  await b.close();
  await waitFor(
    () =>
      find(
        DIAGNOSTICS_CHANNELS.nodeDown,
        (m) => m.node === a.name && m.peer === b.name && m.reason === 'goodbye',
      ),
    5_000,
    'node down on a',
  );
  assert.ok(
    find(
      DIAGNOSTICS_CHANNELS.groupChange,
      (m) => m.node === a.name && m.group === 'g' && m.type === 'leave',
    ),
  );
});
