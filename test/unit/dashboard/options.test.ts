/**
 * The dashboard's options and access rule: loopback is 127.0.0.0/8, ::1 and `localhost`;
 * anywhere else a token is required (generated when not given); tokens compare equal only when
 * they are.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sameToken } from '../../../src/dashboard/access.js';
import { isLoopbackHost, resolveDashboardOptions } from '../../../src/dashboard/options.js';

describe('dashboard options', () => {
  test('loopback hosts', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '127.255.1.9', '::1', '[::1]', 'localhost']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '192.168.1.2']) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });

  test('a token is generated off loopback, and none is needed on it', () => {
    assert.equal(resolveDashboardOptions({}).token, undefined);
    assert.equal(resolveDashboardOptions({ host: '127.0.0.2' }).token, undefined);
    const a = resolveDashboardOptions({ host: '0.0.0.0' }).token;
    const b = resolveDashboardOptions({ host: '0.0.0.0' }).token;
    assert.match(a ?? '', /^[\w-]{32}$/);
    assert.notEqual(a, b);
    const given = 'a-token-of-enough-length';
    assert.equal(resolveDashboardOptions({ host: '::', token: given }).token, given);
    assert.equal(resolveDashboardOptions({ token: given }).token, given, 'also on loopback');
  });

  test('defaults, and bad options fail with a TypeError naming the field', () => {
    assert.deepEqual(
      { ...resolveDashboardOptions(undefined) },
      { port: 0, host: '127.0.0.1', token: undefined, intervalMs: 1_000, maxClients: 16 },
    );
    const cases: [unknown, RegExp][] = [
      [{ token: 'short' }, /"token" must be a string of at least 16 characters/],
      [{ port: 70_000 }, /"port" must be an integer from 0 to 65535/],
      [{ intervalMs: 10 }, /"intervalMs" must be an integer from 100 to 60000/],
      [{ host: '' }, /"host" must be an address/],
      [{ maxClient: 3 }, /unknown option "maxClient"; did you mean "maxClients"\?/],
      ['fast', /"options" must be an object/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => resolveDashboardOptions(options as never), {
        name: 'TypeError',
        message,
      });
    }
  });

  test('sameToken compares whole tokens, whatever their lengths', () => {
    const token = 'q2Vx8s0mJwz5D1aN7Lr4kYb3TfHc6PuE';
    assert.equal(sameToken(token, token), true);
    assert.equal(sameToken(`${token}x`, token), false);
    assert.equal(sameToken(token.slice(0, -1), token), false);
    assert.equal(sameToken('', token), false);
  });
});
