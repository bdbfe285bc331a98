/**
 * DNS discovery against a real DNS server (dnsmasq, Debian's dnsmasq-base, started here on
 * 127.0.0.1 and asked directly through `servers`): "pods" on 127.0.0.1, .2 and .3 sharing one
 * port behind one name mesh, a record that goes is no longer dialled, a server that stops
 * answering keeps the view; and SRV records, which give each node its own port. Without
 * /usr/sbin/dnsmasq the tests are skipped with one line.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { dnsDiscovery, type RpcNode, startNode } from '../../src/index.js';
import { waitFor } from '../helpers/cluster.js';
import { sleep } from '../helpers/discovery.js';
import { DnsServer } from '../helpers/servers.js';

const nodes: RpcNode[] = [];
after(() => Promise.all(nodes.map((n) => n.destroy())));

/** A node on `host`; its warnings go to `warnings` when given. */
async function start(name: string, host: string, port: number, more = {}, warnings?: string[]) {
  const logger = { debug() {}, info() {}, warn: (m: string) => warnings?.push(m), error() {} };
  const node = await startNode({ cookie: 'dns', name, host, port, logger, ...more });
  nodes.push(node);
  return node;
}

/** Lookups every 300 ms: each query then has 150 ms, tried twice, on a loaded machine too. */
const INTERVAL_MS = 300;
const pods = (...hosts: number[]) => hosts.map((i) => `host-record=pods.test,127.0.0.${i}`);

describe('DNS discovery through a real DNS server', { timeout: 60_000 }, () => {
  test('pods behind one name mesh; a record that goes is forgotten; a silent server keeps the view', async (t) => {
    const why = DnsServer.unavailable();
    if (why) return t.skip(why);
    const dns = await DnsServer.start(t, pods(1, 2, 3));
    const warnings: string[] = [];
    const discovery = () =>
      dnsDiscovery({
        name: 'pods.test',
        servers: [dns.server],
        family: 4,
        intervalMs: INTERVAL_MS,
      });
    const first = await start('pod1@127.0.0.1', '127.0.0.1', 0, { discovery }, warnings);
    const port = Number(first.address.split(':')[1]);
    const second = await start('pod2@127.0.0.2', '127.0.0.2', port, { discovery });
    const third = await start('pod3@127.0.0.3', '127.0.0.3', port, { discovery });
    const all = [first, second, third];
    await waitFor(() => all.every((n) => n.peers().length === 2), 5_000, 'a full mesh of 3 pods');

    // Pod 3's record goes (its pod was deleted), then the pod: one started again at its address
    // is dialled by no one.
    await dns.serve(pods(1, 2));
    await sleep(4 * INTERVAL_MS); // a few lookups, even on a slow machine
    await third.close();
    await start('pod3@127.0.0.3', '127.0.0.3', port);
    await sleep(800);
    assert.deepEqual(first.peers(), ['pod2@127.0.0.2']);
    assert.deepEqual(second.peers(), ['pod1@127.0.0.1']);

    // The server goes: lookups fail, the view and the connections stay, one warning says so.
    await dns.kill();
    await sleep(3 * INTERVAL_MS);
    assert.deepEqual(first.peers(), ['pod2@127.0.0.2']);
    const failures = warnings.filter((w) => w.startsWith('dns: cannot resolve pods.test'));
    assert.equal(failures.length, 1, warnings.join('\n'));
    assert.match(failures[0] as string, /keeping the last view \(2 addresses\)/);

    // Back, with pod 3 in the answer again: dialled within a lookup or two.
    await dns.serve(pods(1, 2, 3));
    await waitFor(() => first.peers().includes('pod3@127.0.0.3'), 5_000, 'pod 3 dialled again');
  });

  test('SRV records give each node its own port; a target without an address is left out', async (t) => {
    const why = DnsServer.unavailable();
    if (why) return t.skip(why);
    const a = await start('srv-a@127.0.0.1', '127.0.0.1', 0);
    const b = await start('srv-b@127.0.0.1', '127.0.0.1', 0);
    const portOf = (node: RpcNode) => node.address.split(':')[1];
    assert.notEqual(portOf(a), portOf(b));
    const dns = await DnsServer.start(t, [
      `srv-host=_rpclb._tcp.workers.test,a.workers.test,${portOf(a)}`,
      `srv-host=_rpclb._tcp.workers.test,b.workers.test,${portOf(b)}`,
      'srv-host=_rpclb._tcp.workers.test,gone.workers.test,4370', // no A record
      'host-record=a.workers.test,127.0.0.1',
      'host-record=b.workers.test,127.0.0.1',
    ]);
    const warnings: string[] = [];
    const caller = await start(
      'srv-caller@127.0.0.1',
      '127.0.0.1',
      0,
      {
        discovery: dnsDiscovery({
          name: '_rpclb._tcp.workers.test',
          srv: true,
          servers: [dns.server],
          family: 4,
        }),
      },
      warnings,
    );
    await waitFor(() => caller.peers().length === 2, 5_000, 'both SRV targets dialled');
    assert.deepEqual(caller.peers(), ['srv-a@127.0.0.1', 'srv-b@127.0.0.1']);
    assert.deepEqual(warnings, []);
  });
});
