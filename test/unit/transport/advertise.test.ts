import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLoopbackAddress, isWildcardHost } from '../../../src/addresses.js';
import { type AdvertiseInput, advertisedHost } from '../../../src/transport/advertise.js';

/** A resolver that knows a few names and fails for the rest, as getaddrinfo does. */
const hosts: Record<string, string[]> = {
  'worker1.internal': ['10.0.0.5'],
  'dual.internal': ['10.0.0.6', 'fd00::6'],
  'debian-box': ['127.0.1.1'],
  'half.internal': ['10.0.0.7', '127.0.0.1'],
};
const lookup = async (host: string) => {
  const found = hosts[host];
  if (found) return found;
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
};
const input = (over: Partial<AdvertiseInput>): AdvertiseInput => ({
  name: 'w@worker1.internal',
  host: '0.0.0.0',
  advertiseAddress: undefined,
  ...over,
});

describe('advertisedHost', () => {
  test('advertiseAddress wins, with or without a port', async () => {
    const given = { host: 'proxy.internal', port: 9000 };
    assert.deepEqual(await advertisedHost(input({ advertiseAddress: given }), lookup), given);
    const hostOnly = { host: '10.1.1.1', port: undefined };
    assert.deepEqual(await advertisedHost(input({ advertiseAddress: hostOnly }), lookup), hostOnly);
  });

  test('a specific listen host is advertised as is, without resolving anything', async () => {
    const fail = async () => assert.fail('no lookup expected');
    for (const host of ['127.0.0.1', '10.0.0.5', '::1', 'my-host'])
      assert.deepEqual(await advertisedHost(input({ host }), fail), { host, port: undefined });
  });

  test('on a wildcard host, a name host that resolves to reachable addresses is advertised as written', async () => {
    for (const host of ['0.0.0.0', '::']) {
      for (const [name, expected] of [
        ['w@worker1.internal', 'worker1.internal'],
        ['w@dual.internal', 'dual.internal'],
        ['w@10.0.0.9', '10.0.0.9'],
        ['w@[fd00::9]', 'fd00::9'],
      ]) {
        const got = await advertisedHost(input({ host, name }), lookup);
        assert.deepEqual(got, { host: expected, port: undefined });
      }
    }
  });

  test('on a wildcard host, a loopback, unresolvable or partly loopback name host is refused', async () => {
    for (const [name, pattern] of [
      ['w@127.0.0.1', /"w@127\.0\.0\.1" is a loopback/],
      ['w@debian-box', /resolves to 127\.0\.1\.1, a loopback/],
      ['w@half.internal', /resolves to 10\.0\.0\.7, 127\.0\.0\.1, a loopback/],
      ['w@nowhere', /does not resolve \(ENOTFOUND\)/],
      ['w@[::1]', /is a loopback/],
    ] as const) {
      await assert.rejects(advertisedHost(input({ name }), lookup), (err: Error) => {
        assert.ok(err instanceof TypeError);
        assert.match(err.message, /^option "advertiseAddress" is needed/);
        assert.match(err.message, pattern);
        return true;
      });
    }
  });
});

describe('address classes', () => {
  test('wildcards', () => {
    for (const a of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0']) assert.ok(isWildcardHost(a), a);
    for (const a of ['127.0.0.1', '::1', '10.0.0.0', 'host']) assert.ok(!isWildcardHost(a), a);
  });
  test('loopbacks', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])
      assert.ok(isLoopbackAddress(a), a);
    for (const a of ['10.0.0.1', '128.0.0.1', '::', 'fd00::1', '::ffff:10.0.0.1'])
      assert.ok(!isLoopbackAddress(a), a);
  });
});
