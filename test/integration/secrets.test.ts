/**
 * Secrets stay out of sight: printing a node (`console.log(node)`, `util.inspect`, even with
 * `showHidden` and unlimited depth) or serialising it shows its name, address, peers and state,
 * never the cookie or the TLS private key it was started with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { startNode } from '../../src/index.js';
import { createPki } from '../helpers/certs.js';

const COOKIE = 'cookie-that-must-never-be-printed';

test('inspecting a node shows name, address, peers and state, not the cookie or TLS key', async (t) => {
  const pki = createPki(t);
  const ca = pki.createCa('inspect-ca');
  const tlsFor = (name: string) => ({ ...pki.issue(ca, name), ca: ca.cert });
  const aTls = tlsFor('a');
  const a = await startNode({
    name: 'inspect-a@127.0.0.1',
    cookie: COOKIE,
    tls: aTls,
    logLevel: 'silent',
  });
  const b = await startNode({
    name: 'inspect-b@127.0.0.1',
    cookie: COOKIE,
    tls: tlsFor('b'),
    logLevel: 'silent',
  });
  t.after(() => Promise.all([a.destroy(), b.destroy()]));
  await b.connect(a.address);
  assert.ok(aTls.key.includes('PRIVATE KEY'));

  const printed = [
    inspect(a),
    inspect(a, { showHidden: true, depth: Number.POSITIVE_INFINITY }),
    JSON.stringify(a) ?? '',
  ];
  for (const text of printed) {
    assert.ok(!text.includes(COOKIE), `the cookie is printed:\n${text}`);
    assert.ok(
      !text.includes(aTls.key.split('\n')[1] as string),
      `the TLS key is printed:\n${text}`,
    );
    assert.ok(!text.includes('PRIVATE KEY'), `a private key is printed:\n${text}`);
  }
  const shown = inspect(a, { breakLength: Number.POSITIVE_INFINITY });
  assert.equal(
    shown,
    `RpcNode { name: 'inspect-a@127.0.0.1', address: '${a.address}', peers: [ 'inspect-b@127.0.0.1' ], state: 'running' }`,
  );
  const closing = a.close({ drainTimeoutMs: 500 });
  assert.match(inspect(a), /state: 'closing'/);
  await closing;
  assert.match(
    inspect(a, { breakLength: Number.POSITIVE_INFINITY }),
    /peers: \[\], state: 'closed'/,
  );
});
