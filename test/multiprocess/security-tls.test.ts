/**
 * TLS between nodes with mutual authentication, using certificates made for the test: nodes
 * with certificates from the cluster CA talk; a node without a client certificate, with one
 * from another CA, or without TLS at all is refused (and the refusal is logged).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CertificateAuthority, createPki } from '../helpers/certs.js';
import { Cluster, RequestFailed, type Worker } from '../helpers/cluster.js';

const cluster = new Cluster({ after });
const pki = createPki({ after });
let ca: CertificateAuthority;
let t1: Worker;
let t2: Worker;

before(async () => {
  ca = pki.createCa('cluster-ca');
  const [c1, c2] = [pki.issue(ca, 'tls-1'), pki.issue(ca, 'tls-2')];
  [t1, t2] = await Promise.all([
    cluster.spawn({
      name: 'tls-1@127.0.0.1',
      tls: { ...c1, ca: ca.cert },
      behaviour: { captureLogs: true },
    }),
    cluster.spawn({ name: 'tls-2@127.0.0.1', tls: { ...c2, ca: ca.cert } }),
  ]);
});

async function refused(from: Worker, to: Worker): Promise<void> {
  const err = await from.request('connect', to.address).then(
    () => assert.fail(`${from.name} must not connect to ${to.name}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RequestFailed);
  assert.equal(err.failure.code, 'service_unavailable');
  assert.equal(err.failure.statusCode, 503);
  assert.ok(!(await from.request<string[]>('peers')).includes(to.name));
  assert.ok(!(await to.request<string[]>('peers')).includes(from.name));
}

test('two TLS nodes with certificates from the cluster CA call each other', async () => {
  assert.equal(await t2.request('connect', t1.address), t1.name);
  assert.equal(await t1.request('call', t2.name, 'Test', 'upcase', ['secure']), 'SECURE');
  const value = { when: new Date(7), big: 2n ** 70n, bytes: new Uint8Array([1, 2, 3]) };
  assert.deepStrictEqual(await t2.request('call', t1.name, 'Test', 'echo', [value]), value);
  await t2.request('cast', t1.name, 'Test', 'record', ['over tls']);
  await t1.waitForEvent((e) => e.event === 'cast' && e.value === 'over tls');
});

test('a node without a client certificate is refused', async (t) => {
  const local = new Cluster(t);
  const anonymous = await local.spawn({ name: 'tls-anon@127.0.0.1', tls: { ca: ca.cert } });
  await refused(anonymous, t1);
  await t1.waitForEvent(
    (e) => e.event === 'log' && /TLS connection .*refused/.test(String(e.message)),
    5_000,
    'TLS refusal logged',
  );
});

test('a node with a certificate from another CA is refused', async (t) => {
  const local = new Cluster(t);
  const rogueCa = pki.createCa('rogue-ca');
  const rogueCert = pki.issue(rogueCa, 'tls-rogue');
  // It trusts the cluster CA (so it accepts the server) but presents a certificate of its own CA.
  const rogue = await local.spawn({
    name: 'tls-rogue@127.0.0.1',
    tls: { ...rogueCert, ca: ca.cert },
  });
  const logsBefore = t1.events.filter((e) => e.event === 'log').length;
  await refused(rogue, t1);
  await t1.waitForEvent(
    (e) =>
      e.event === 'log' &&
      /TLS connection .*refused/.test(String(e.message)) &&
      t1.events.indexOf(e) >= logsBefore,
    5_000,
    'TLS refusal logged',
  );
  // The TLS node does not trust the rogue either when it dials.
  await refused(t1, rogue);
});

test('a plain TCP node cannot talk to a TLS node, either way', async (t) => {
  const local = new Cluster(t);
  const plain = await local.spawn({ name: 'tls-plain@127.0.0.1', handshakeTimeoutMs: 1_000 });
  await refused(plain, t1);
  await refused(t1, plain);
  // The cluster is unharmed.
  assert.equal(await t1.request('call', t2.name, 'Test', 'whoami', []), t2.name);
});
