/**
 * The processes tests start run on the same Node.js as the test runner (process.execPath), so
 * a CI run on a given release tests that release end to end, not the machine's default `node`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cluster } from '../helpers/cluster.js';

test('test node processes run on the runtime under test', async (t) => {
  const cluster = new Cluster(t);
  const worker = await cluster.spawn({ name: 'runtime@127.0.0.1' });
  const runtime = await worker.request<{ version: string; execPath: string }>('runtime');
  t.diagnostic(`runner ${process.version}, worker ${runtime.version} (${runtime.execPath})`);
  assert.deepEqual(runtime, { version: process.version, execPath: process.execPath });
});
