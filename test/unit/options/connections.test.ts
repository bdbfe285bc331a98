/**
 * The `connections` option: the strings keep their meaning, the object form sets the idle
 * timeout of on-demand connections, and every wrong value is a `TypeError` naming the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../../src/index.js';
import { type NodeOptions, resolveNodeOptions } from '../../../src/options.js';

const quiet = { cookie: 'c', logLevel: 'silent' } as const;
const resolve = (connections: unknown) =>
  resolveNodeOptions({ ...quiet, connections } as NodeOptions);

test('mesh and on-demand keep their meaning; on demand closes idle connections after 5 minutes', () => {
  assert.equal(DEFAULT_IDLE_TIMEOUT_MS, 300_000);
  for (const connections of [undefined, 'mesh', { mode: 'mesh' }]) {
    const r = resolve(connections);
    assert.equal(r.connections, 'mesh');
    assert.equal(r.idleTimeoutMs, Number.POSITIVE_INFINITY);
  }
  for (const connections of ['on-demand', { mode: 'on-demand' }]) {
    const r = resolve(connections);
    assert.equal(r.connections, 'on-demand');
    assert.equal(r.idleTimeoutMs, DEFAULT_IDLE_TIMEOUT_MS);
  }
  assert.equal(resolve({ mode: 'on-demand', idleTimeoutMs: 60_000 }).idleTimeoutMs, 60_000);
  assert.equal(
    resolve({ mode: 'on-demand', idleTimeoutMs: Number.POSITIVE_INFINITY }).idleTimeoutMs,
    Number.POSITIVE_INFINITY,
  );
});

test('the caller’s object is neither kept nor changed', () => {
  const given = Object.freeze({ mode: 'on-demand' as const, idleTimeoutMs: 1_000 });
  const r = resolveNodeOptions({ ...quiet, connections: given });
  assert.ok(Object.isFrozen(r));
  assert.deepEqual(given, { mode: 'on-demand', idleTimeoutMs: 1_000 });
});

test('a wrong value names the field, what was expected and what was received', () => {
  const cases: [unknown, RegExp][] = [
    [
      'lazy',
      /^option "connections" must be "mesh", "on-demand", or \{ mode: "on-demand", idleTimeoutMs \}, received "lazy"$/,
    ],
    [null, /^option "connections" must be .*, received null$/],
    [['on-demand'], /^option "connections" must be .*, received an array of 1$/],
    [
      { mode: 'lazy' },
      /^option "connections.mode" must be "mesh" or "on-demand", received "lazy"$/,
    ],
    [{}, /^option "connections.mode" must be "mesh" or "on-demand", received undefined$/],
    [
      { mode: 'on-demand', idle: 5 },
      /^unknown option "connections.idle"; valid options: "mode", "idleTimeoutMs"$/,
    ],
    [
      { mode: 'on-demand', idleTimeoutMs: 0 },
      /^option "connections.idleTimeoutMs" must be an integer from 1 to 2147483647, or Infinity to keep idle connections, received 0$/,
    ],
    [{ mode: 'on-demand', idleTimeoutMs: -1 }, /received -1$/],
    [{ mode: 'on-demand', idleTimeoutMs: 1.5 }, /received 1.5$/],
    [{ mode: 'on-demand', idleTimeoutMs: Number.NaN }, /received NaN$/],
    [{ mode: 'on-demand', idleTimeoutMs: '5m' }, /received "5m"$/],
    [{ mode: 'on-demand', idleTimeoutMs: 2 ** 31 }, /received 2147483648$/],
    [{ mode: 'on-demand', idleTimeoutMs: Number.NEGATIVE_INFINITY }, /received -Infinity$/],
    [
      { mode: 'mesh', idleTimeoutMs: 1_000 },
      /^option "connections.idleTimeoutMs" applies to on-demand connections only \(a mesh keeps every connection\), received 1000 with mode "mesh"$/,
    ],
  ];
  for (const [value, message] of cases) {
    assert.throws(
      () => resolve(value),
      (err: Error) => err instanceof TypeError && message.test(err.message),
      String(JSON.stringify(value)),
    );
  }
});
