/**
 * `close({ drainTimeoutMs })` is one budget for the whole close: the balancers' drain, the
 * server's drain and the goodbye together, however long each balancer's own drainTimeoutMs
 * is and whether or not peers answer the goodbye.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster } from '../helpers/cluster.js';

const BUDGET_MS = 1_000;
/** Scheduling and the IPC round trip that reports the close. */
const MARGIN_MS = 500;

test('close() with a busy handler, a slow balancer and a frozen peer ends within its budget', async (t) => {
  const cluster = new Cluster(t);
  // Long heartbeats: the frozen peer must not be declared down during the test.
  const [a, b] = await Promise.all([
    cluster.spawn({ name: 'budget-a@127.0.0.1', heartbeatTimeoutMs: 60_000 }),
    cluster.spawn({ name: 'budget-b@127.0.0.1', heartbeatTimeoutMs: 60_000 }),
  ]);
  await a.request('connect', b.address);
  await b.request('startLb', { name: 'lb' });
  // a's balancer selects b only, and would wait 20 s for its calls when stopped.
  await a.request('startLb', { name: 'lb', drainTimeoutMs: 20_000, match: ['budget-b'] });
  const outgoing = a.request('lbCall', 'RpcTest', 'nap', [30_000], { timeout: 30_000 });
  const incoming = b.request('call', a.name, 'RpcTest', 'nap', [30_000], { timeout: 30_000 });
  outgoing.catch(() => {});
  incoming.catch(() => {});
  await b.waitForEvent((e) => e.event === 'nap-started', 5_000, "a's balanced call running on b");
  await a.waitForEvent((e) => e.event === 'nap-started', 5_000, "b's call running on a");
  // b stops answering anything, the goodbye included.
  b.kill('SIGSTOP');

  const started = Date.now();
  const closed = await Promise.race([
    a.request('close', BUDGET_MS).then(() => Date.now() - started),
    sleep(BUDGET_MS + 5_000).then(() => undefined),
  ]);
  b.kill('SIGCONT');
  assert.ok(closed !== undefined, `close() had not ended ${BUDGET_MS + 5_000} ms later`);
  t.diagnostic(`close() took ${closed} ms for a budget of ${BUDGET_MS} ms`);
  assert.ok(
    closed <= BUDGET_MS + MARGIN_MS,
    `close() took ${closed} ms for a budget of ${BUDGET_MS}`,
  );
  assert.ok(closed >= BUDGET_MS - 100, `close() gave up early (${closed} ms)`);
  // The balanced call that could not finish failed (at once, not at its 30 s timeout).
  const failure = await outgoing.then(
    () => assert.fail('the balanced call cannot have succeeded'),
    (err: { code?: string }) => err,
  );
  assert.equal(failure.code, 'service_unavailable');
});
