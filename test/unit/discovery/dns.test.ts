/**
 * DNS discovery against an injected resolver (no DNS needed) and, once, the system resolver
 * with a real name: each answer is the view, a failed lookup keeps the last one, options are
 * checked.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DnsAddress, dnsDiscovery } from '../../../src/discovery/dns.js';
import type { DiscoveredNode, DiscoveryHost } from '../../../src/discovery/types.js';

/** A host that records views and log lines; `address` gives the node's own port. */
function fakeHost(address = '10.0.0.1:4370') {
  const views: string[][] = [];
  const lines: string[] = [];
  const host: DiscoveryHost = {
    name: 'me@h',
    address,
    heartbeatTimeoutMs: 3_000,
    incarnation: 'i1',
    groups: () => ({}),
    logger: {
      debug() {},
      info: (m) => lines.push(`info ${m}`),
      warn: (m) => lines.push(`warn ${m}`),
      error() {},
    },
    update: (nodes: Iterable<DiscoveredNode>) => views.push([...nodes].map((n) => n.address)),
  };
  return { host, views, lines };
}

/** A resolver answering what `answer` holds (or throwing it), counting lookups. */
function fakeLookup(answer: { value: string[] | Error }) {
  const asked: string[] = [];
  const lookup = async (name: string, options: { all: true; family?: 0 | 4 | 6 }) => {
    asked.push(`${name}/${options.family}`);
    if (answer.value instanceof Error) throw answer.value;
    return answer.value.map(
      (address): DnsAddress => ({ address, family: address.includes(':') ? 6 : 4 }),
    );
  };
  return { lookup, asked };
}

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(check(), what);
};

describe('dnsDiscovery', () => {
  test('each answer is the view: new addresses appear, vanished ones go', async (t) => {
    const answer = { value: ['10.0.0.1', '10.0.0.2'] as string[] | Error };
    const { lookup, asked } = fakeLookup(answer);
    const { host, views } = fakeHost();
    const discovery = dnsDiscovery({ name: 'svc.ns.svc.cluster.local', lookup, intervalMs: 100 });
    t.after(() => discovery.stop());
    assert.equal(discovery.kind, 'dns');
    assert.equal(discovery.peerExchange, true);
    await discovery.start(host);
    // Resolved once before start resolves, with the node's own port.
    assert.deepEqual(views, [['10.0.0.1:4370', '10.0.0.2:4370']]);
    assert.deepEqual(asked, ['svc.ns.svc.cluster.local/0']);
    answer.value = ['10.0.0.2', '10.0.0.3', 'fd00::4'];
    await waitFor(() => views.length >= 2, 'a second lookup');
    assert.deepEqual(views[1], ['10.0.0.2:4370', '10.0.0.3:4370', '[fd00::4]:4370']);
  });

  test('a failed lookup keeps the last view, warns once per outage, and says when it is back', async (t) => {
    const answer = { value: ['10.0.0.2'] as string[] | Error };
    const { lookup, asked } = fakeLookup(answer);
    const { host, views, lines } = fakeHost();
    const discovery = dnsDiscovery({ name: 'svc', port: 9000, lookup, intervalMs: 100, family: 4 });
    t.after(() => discovery.stop());
    await discovery.start(host);
    assert.deepEqual(views, [['10.0.0.2:9000']]);
    answer.value = Object.assign(new Error('queryA ETIMEOUT svc'), { code: 'ETIMEOUT' });
    await waitFor(() => asked.length >= 4, 'three failed lookups');
    assert.deepEqual(views, [['10.0.0.2:9000']], 'no view reported while failing');
    assert.deepEqual(lines, [
      'warn dns: cannot resolve svc (ETIMEOUT); keeping the last view (1 addresses) and retrying every 100 ms',
    ]);
    answer.value = ['10.0.0.5'];
    await waitFor(() => views.length === 2, 'the view after recovery');
    assert.deepEqual(views[1], ['10.0.0.5:9000']);
    assert.equal(lines[1], 'info dns: svc resolves again (1 addresses)');
    assert.equal(asked[0], 'svc/4');
  });

  test('stop ends the polling', async () => {
    const { lookup, asked } = fakeLookup({ value: ['10.0.0.2'] });
    const discovery = dnsDiscovery({ name: 'svc', lookup, intervalMs: 100 });
    await discovery.start(fakeHost().host);
    await discovery.stop();
    const before = asked.length;
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(asked.length, before);
  });

  test('a real name through the system resolver: localhost is 127.0.0.1', async (t) => {
    const { host, views } = fakeHost('127.0.0.1:4370');
    const discovery = dnsDiscovery({ name: 'localhost', port: 4371, family: 4 });
    t.after(() => discovery.stop());
    await discovery.start(host);
    assert.deepEqual(views, [['127.0.0.1:4371']]);
  });

  test('bad options are TypeErrors naming the field', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{}, /^option "dnsDiscovery.name" must be a host name/],
      [{ name: 'a b' }, /"dnsDiscovery.name"/],
      [
        { name: 'svc', port: 0 },
        /^option "dnsDiscovery.port" must be an integer from 1 to 65535, received 0$/,
      ],
      [{ name: 'svc', intervalMs: 10 }, /"dnsDiscovery.intervalMs" must be an integer from 100/],
      [{ name: 'svc', family: 5 }, /"dnsDiscovery.family" must be 0, 4 or 6/],
      [{ name: 'svc', lookup: 'dns' }, /"dnsDiscovery.lookup"/],
      [{ name: 'svc', peerExchange: 1 }, /"dnsDiscovery.peerExchange" must be a boolean/],
      [{ name: 'svc', srv: 'yes' }, /"dnsDiscovery.srv" must be a boolean/],
      [{ name: 'svc', srv: true, port: 4370 }, /"dnsDiscovery.port" does not go with "srv"/],
      [{ name: 'svc', servers: [] }, /"dnsDiscovery.servers" must be DNS server addresses/],
      [{ name: 'svc', servers: '10.0.0.1' }, /"dnsDiscovery.servers" must be DNS server/],
      [{ name: 'svc', servers: ['not a server'] }, /"dnsDiscovery.servers" must be DNS server/],
      [
        { name: 'svc', servers: ['10.0.0.1'], lookup: async () => [] },
        /"dnsDiscovery.lookup" and "dnsDiscovery.servers" do not go together/,
      ],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => dnsDiscovery(options as never),
        (err: Error) => err instanceof TypeError && message.test(err.message),
        JSON.stringify(options),
      );
    }
  });
});
