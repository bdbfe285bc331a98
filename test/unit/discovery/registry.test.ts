/**
 * What the registering backends share, and their option checks: entries, the error for a
 * missing client package, the lease TTL for a heartbeat timeout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdDiscovery, leaseTtlSeconds } from '../../../src/discovery/etcd.js';
import { redisDiscovery } from '../../../src/discovery/redis.js';
import { decodeEntry, encodeEntry, importOptional } from '../../../src/discovery/registry.js';

describe('registry entries', () => {
  test('round-trip; anything else is not a node', () => {
    assert.deepEqual(decodeEntry(encodeEntry('a@h', '10.0.0.1:4370')), {
      name: 'a@h',
      address: '10.0.0.1:4370',
    });
    for (const bad of [
      null,
      '',
      'nope',
      '{}',
      '{"name":"no at","address":"x:1"}',
      '[1]',
      'x'.repeat(5_000),
    ])
      assert.equal(decodeEntry(bad), undefined, String(bad));
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
