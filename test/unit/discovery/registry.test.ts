/**
 * What the registering backends share, and their option checks: entries, the error for a
 * missing client package, the lease TTL for a heartbeat timeout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdDiscovery, leaseTtlSeconds } from '../../../src/discovery/etcd.js';
import { redisDiscovery } from '../../../src/discovery/redis.js';
import {
  BackendView,
  decodeEntry,
  EntryReader,
  holdMs,
  importOptional,
  MAX_ENTRY_BYTES,
  OwnEntry,
} from '../../../src/discovery/registry.js';
import type { DiscoveryHost } from '../../../src/discovery/types.js';
import type { Logger } from '../../../src/logger.js';

function recordingLogger() {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m) => lines.push(`debug ${m}`),
    info() {},
    warn: (m) => lines.push(`warn ${m}`),
    error() {},
  };
  return { logger, lines };
}

describe('registry entries', () => {
  test('round-trip with groups and incarnation, read again at every write', () => {
    let groups: Record<string, number> = { work: 1 };
    const host: DiscoveryHost = {
      name: 'a@h',
      address: '10.0.0.1:4370',
      heartbeatTimeoutMs: 3_000,
      logger: recordingLogger().logger,
      incarnation: 'run-1',
      groups: () => groups,
      update() {},
    };
    const own = new OwnEntry('test', host);
    assert.deepEqual(decodeEntry(JSON.stringify(own.fields())), {
      name: 'a@h',
      address: '10.0.0.1:4370',
      incarnation: 'run-1',
      groups: { work: 1 },
    });
    groups = { work: 2, __proto__x: 1 };
    assert.deepEqual(decodeEntry(JSON.stringify(own.fields()))?.groups, groups);
  });

  test('an older entry (no groups, no incarnation) is still a node; anything else is not one', () => {
    assert.deepEqual(decodeEntry('{"name":"a@h","address":"10.0.0.1:4370"}'), {
      name: 'a@h',
      address: '10.0.0.1:4370',
    });
    for (const bad of [
      null,
      '',
      'nope',
      '{}',
      'null',
      '{"name":"no at","address":"x:1"}',
      '[1]',
      'x'.repeat(5_000),
    ])
      assert.equal(decodeEntry(bad), undefined, String(bad));
  });

  test('malformed groups and incarnations are dropped, the entry stays', () => {
    const read = (extra: object) =>
      decodeEntry(JSON.stringify({ name: 'a@h', address: '10.0.0.1:1', ...extra }));
    assert.deepEqual(
      read({
        groups: { ok: 2, '': 1, zero: 0, neg: -1, half: 1.5, str: '1', huge: 2 ** 53, nul: null },
      })?.groups,
      { ok: 2 },
    );
    // A group named __proto__ is an own property, not a prototype.
    const proto = read({ groups: JSON.parse('{"__proto__":3}') })?.groups ?? {};
    assert.deepEqual(Object.entries(proto), [['__proto__', 3]]);
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    for (const groups of [[1], 'work', 3, null]) {
      const node = read({ groups });
      assert.deepEqual(node, { name: 'a@h', address: '10.0.0.1:1' }, JSON.stringify(groups));
    }
    for (const incarnation of ['', 'x'.repeat(65), 42, null])
      assert.equal(read({ incarnation })?.incarnation, undefined, String(incarnation));
    assert.equal(read({ incarnation: 'x'.repeat(64) })?.incarnation, 'x'.repeat(64));
  });

  test('an entry over 64 KiB is left out, with one warning per key while it stays so', () => {
    const { logger, lines } = recordingLogger();
    const reader = new EntryReader('test', logger);
    const big = JSON.stringify({
      name: 'a@h',
      address: '10.0.0.1:1',
      groups: { ['g'.repeat(MAX_ENTRY_BYTES)]: 1 },
    });
    assert.equal(reader.read('k', big), undefined);
    assert.equal(reader.read('k', big), undefined);
    assert.deepEqual(
      lines.map((l) => l.split(' ')[0]),
      ['warn', 'debug'],
    );
    assert.match(
      lines[0] ?? '',
      /^warn test: the entry at "k" is \d+ bytes, over 65536; left out$/,
    );
    // Multi-byte characters count as bytes: 22 000 × 3 bytes is over the bound.
    assert.equal(reader.fits('m', '€'.repeat(22_000)), false);
    assert.equal(reader.read('k', '{"name":"a@h","address":"10.0.0.1:1"}')?.name, 'a@h');
    assert.equal(reader.read('k', big), undefined);
    assert.equal(
      lines.filter((l) => l.startsWith('warn')).length,
      3,
      'said again once it came back',
    );
  });

  test("this node's groups too big for an entry: registered without them, said once", () => {
    const { logger, lines } = recordingLogger();
    let groups: Record<string, number> = { ['g'.repeat(MAX_ENTRY_BYTES)]: 1 };
    const own = new OwnEntry('test', {
      name: 'a@h',
      address: '10.0.0.1:1',
      heartbeatTimeoutMs: 3_000,
      logger,
      incarnation: 'i',
      groups: () => groups,
      update() {},
    });
    assert.deepEqual(own.fields(), { name: 'a@h', address: '10.0.0.1:1', incarnation: 'i' });
    own.fields();
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /registered without its groups$/);
    groups = { small: 1 };
    assert.deepEqual(own.fields().groups, { small: 1 });
  });
});

describe('optional client packages', () => {
  test('a missing package is an Error saying what to install', async () => {
    await assert.rejects(
      importOptional(
        'no-such-package-rpclb',
        'rpc-load-balancer/discovery/x',
        () => import('no-such-package-rpclb' as string),
      ),
      {
        message:
          'rpc-load-balancer/discovery/x needs the "no-such-package-rpclb" package, an optional peer dependency of rpc-load-balancer: npm install no-such-package-rpclb',
      },
    );
  });

  test('other load errors are not disguised', async () => {
    const boom = new SyntaxError('bad module');
    await assert.rejects(
      importOptional('pkg', 'entry', () => Promise.reject(boom)),
      (err) => err === boom,
    );
  });
});

describe('etcdDiscovery', () => {
  test('the lease TTL is the heartbeat timeout in whole seconds, rounded up', () => {
    assert.deepEqual(
      [1, 999, 1_000, 1_001, 1_500, 3_000, 3_001].map(leaseTtlSeconds),
      [1, 1, 1, 2, 2, 3, 4],
    );
  });

  test('bad options are TypeErrors naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /^option "etcdDiscovery" must be an object/],
      [
        {},
        /^option "etcdDiscovery.hosts" must be URLs like "http:\/\/127.0.0.1:2379", received undefined$/,
      ],
      [{ hosts: '127.0.0.1:2379' }, /"etcdDiscovery.hosts"/],
      [{ hosts: [] }, /"etcdDiscovery.hosts"/],
      [{ hosts: 'http://e:2379', prefix: '' }, /"etcdDiscovery.prefix" must be a non-empty string/],
      [{ hosts: 'http://e:2379', client: 3 }, /"etcdDiscovery.client"/],
      [
        { hosts: 'http://e:2379', peerExchange: 'no' },
        /"etcdDiscovery.peerExchange" must be a boolean/,
      ],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => etcdDiscovery(options as never),
        (err: Error) => err instanceof TypeError && message.test(err.message),
        JSON.stringify(options),
      );
    }
    const ok = etcdDiscovery({ hosts: ['http://a:2379', 'https://b:2379'], peerExchange: false });
    assert.equal(ok.kind, 'etcd');
    assert.equal(ok.peerExchange, false);
  });
});

describe('redisDiscovery', () => {
  test('bad options are TypeErrors naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /^option "redisDiscovery" must be an object/],
      [
        {},
        /^option "redisDiscovery.url" must be a URL like "redis:\/\/127.0.0.1:6379", received undefined$/,
      ],
      [{ url: '127.0.0.1:6379' }, /"redisDiscovery.url"/],
      [
        { url: 'redis://r', prefix: 'a*' },
        /"redisDiscovery.prefix" must be a non-empty string without/,
      ],
      [{ url: 'redis://r', client: 'x' }, /"redisDiscovery.client"/],
      [
        { url: 'redis://r', reconcileIntervalMs: 50 },
        /"redisDiscovery.reconcileIntervalMs" must be an integer from 100/,
      ],
      [{ url: 'redis://r', peerExchange: 0 }, /"redisDiscovery.peerExchange" must be a boolean/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => redisDiscovery(options as never),
        (err: Error) => err instanceof TypeError && message.test(err.message),
        JSON.stringify(options),
      );
    }
    assert.equal(redisDiscovery({ url: 'rediss://r:6380/2' }).kind, 'redis');
  });
});

describe('entries held after a break', () => {
  const node = (address: string) => ({ address, name: `n@${address}` });

  test('holdMs is the registration lifetime in whole seconds plus the reconnection time', () => {
    assert.equal(holdMs(3_000, 2_000), 5_000);
    assert.equal(holdMs(1_500, 7_000), 9_000);
  });

  test('what a read after a break lacks is reported until it expires, is written again, or deleted', async () => {
    let expired = 0;
    const view = new BackendView(60, () => expired++);
    const reported = () => [...view.nodes()].map((n) => n.address).sort();
    const a = node('a:1');
    view.replace(
      new Map([
        ['k/a', a],
        ['k/b', node('b:1')],
        ['k/c', node('c:1')],
      ]),
      false,
    );
    // a read that is not after a break is the view as it is
    view.replace(new Map([['k/a', a]]), false);
    assert.deepEqual(reported(), ['a:1']);
    view.set('k/b', node('b:1'));
    view.set('k/c', node('c:1'));
    // after a break, what the read lacks stays reported
    view.replace(new Map([['k/a', a]]), true);
    assert.equal(view.size, 1);
    assert.deepEqual(reported(), ['a:1', 'b:1', 'c:1']);
    // b registers again (with a new address); c is deleted explicitly
    view.set('k/b', node('b:2'));
    assert.equal(view.delete('k/c'), true);
    assert.equal(view.delete('k/c'), false);
    assert.deepEqual(reported(), ['a:1', 'b:2']);
    // another break, then the hold's expiry: reported through the callback, and gone
    view.set('k/d', node('d:1'));
    view.replace(
      new Map([
        ['k/a', a],
        ['k/b', node('b:2')],
      ]),
      true,
    );
    assert.deepEqual(reported(), ['a:1', 'b:2', 'd:1']);
    // (a late timer on a loaded machine only delays it)
    for (let i = 0; i < 200 && expired === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(expired, 1);
    assert.deepEqual(reported(), ['a:1', 'b:2']);
    view.stop();
  });
});
