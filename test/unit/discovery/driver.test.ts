/**
 * The node's side of the discovery seam, against a fake transport: each view is turned into
 * dials kept and dials forgotten, self and malformed entries are left out, and the `discovery`
 * option is checked with clear TypeErrors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DiscoveryDriver, makeDiscovery } from '../../../src/discovery/driver.js';
import type { Discovery, DiscoveryHost } from '../../../src/discovery/types.js';
import type { Logger } from '../../../src/logger.js';
import { resolveNodeOptions } from '../../../src/options.js';

function setup(discovery?: Discovery) {
  const calls: string[] = [];
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
  let host: DiscoveryHost | undefined;
  const backend: Discovery = discovery ?? {
    kind: 'fake',
    start(h) {
      host = h;
    },
    stop() {},
  };
  const driver = new DiscoveryDriver(
    backend,
    {
      keep: (address, peer, label) => calls.push(`keep ${address} ${peer ?? '-'} (${label})`),
      forget: (address) => calls.push(`forget ${address}`),
      isSelf: (address) => address === '127.0.0.1:9' || address === '127.0.0.1:1',
    },
    {
      name: 'me@h',
      address: () => '127.0.0.1:1',
      heartbeatTimeoutMs: 3_000,
      logger,
      incarnation: 'i1',
      groups: () => ({}),
    },
  );
  return { driver, calls, warnings, host: () => host as DiscoveryHost };
}

describe('DiscoveryDriver', () => {
  test('dials what is new, forgets what vanished, and re-keeps an address whose name changed', async () => {
    const { driver, calls, host } = setup();
    await driver.start();
    assert.equal(host().address, '127.0.0.1:1');
    assert.equal(host().name, 'me@h');
    host().update([{ address: '127.0.0.1:2', name: 'b@h' }, { address: '127.0.0.1:3' }]);
    assert.deepEqual(calls.splice(0), [
      'keep 127.0.0.1:2 b@h (fake address)',
      'keep 127.0.0.1:3 - (fake address)',
    ]);
    // Same view again: nothing to do.
    host().update([{ address: '127.0.0.1:3' }, { address: '127.0.0.1:2', name: 'b@h' }]);
    assert.deepEqual(calls.splice(0), []);
    host().update([{ address: '127.0.0.1:3', name: 'c@h' }, { address: '127.0.0.1:4' }]);
    assert.deepEqual(calls.splice(0), [
      'forget 127.0.0.1:2',
      'keep 127.0.0.1:3 c@h (fake address)',
      'keep 127.0.0.1:4 - (fake address)',
    ]);
    host().update([]);
    assert.deepEqual(calls.splice(0), ['forget 127.0.0.1:3', 'forget 127.0.0.1:4']);
  });

  test('leaves out this node (by name, by its address, by an address found to be itself)', async () => {
    const { driver, calls, host } = setup();
    await driver.start();
    host().update([
      { address: '127.0.0.1:5', name: 'me@h' },
      { address: '127.0.0.1:1' },
      { address: '127.0.0.1:9' },
      { address: '127.0.0.1:6' },
    ]);
    assert.deepEqual(calls, ['keep 127.0.0.1:6 - (fake address)']);
    assert.deepEqual([...driver.view().keys()], ['127.0.0.1:6']);
  });

  test('malformed entries are left out with one warning; addresses are put in canonical form', async () => {
    const { driver, calls, warnings, host } = setup();
    await driver.start();
    host().update([
      { address: 'nope' },
      { address: '0.0.0.0:4370' },
      { address: '127.0.0.1:7', name: 'not a name' },
      null as never,
      { address: '[::1]:8' },
    ]);
    assert.deepEqual(calls, ['keep [::1]:8 - (fake address)']);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? '',
      /^fake reported 4 malformed entries \(left out\), e\.g\. \{ address: "nope"/,
    );
    // The same malformed entries in the next view: not said again.
    host().update([{ address: 'nope' }, { address: '[::1]:8' }, { address: '0.0.0.0:4370' }]);
    host().update([{ address: 'nope' }, { address: '[::1]:8' }, { address: '0.0.0.0:4370' }]);
    assert.equal(warnings.length, 2);
    assert.throws(() => host().update(42 as never), /expected an iterable, received 42/);
  });

  test('groups and incarnation are kept in entries(), by name, and checked', async () => {
    const { driver, calls, warnings, host } = setup();
    await driver.start();
    host().update([
      { address: '127.0.0.1:2', name: 'b@h', incarnation: 'b1', groups: { work: 2, web: 1 } },
      // Malformed fields are dropped from the entry; the entry stays.
      {
        address: '127.0.0.1:3',
        name: 'c@h',
        incarnation: 'x'.repeat(65),
        groups: { ok: 1, '': 1, zero: 0, frac: 0.5, str: '2' as never },
      },
      { address: '127.0.0.1:4', name: 'd@h', incarnation: 7 as never, groups: [1] as never },
      // An older entry: no groups, no incarnation.
      { address: '127.0.0.1:5', name: 'e@h' },
      // Unnamed: dialled, but not in entries().
      { address: '127.0.0.1:6', groups: { work: 1 } },
      // This node's own entry: left out of both.
      { address: '127.0.0.1:7', name: 'me@h', groups: { work: 1 } },
    ]);
    assert.deepEqual(Object.fromEntries(driver.entries()), {
      'b@h': { address: '127.0.0.1:2', incarnation: 'b1', groups: { work: 2, web: 1 } },
      'c@h': { address: '127.0.0.1:3', groups: { ok: 1 } },
      'd@h': { address: '127.0.0.1:4' },
      'e@h': { address: '127.0.0.1:5' },
    });
    assert.ok(Object.isFrozen(driver.entries().get('b@h')?.groups));
    assert.equal(calls.length, 5, 'dials as before: every address but its own');
    assert.deepEqual(warnings, [], 'malformed fields are not malformed entries');
    // Addresses are canonical in entries() too; a name reported twice: the later entry wins.
    host().update([
      { address: '[::1]:2', name: 'b@h', groups: { a: 1 } },
      { address: '127.0.0.1:8', name: 'b@h', groups: { b: 1 } },
    ]);
    assert.deepEqual(Object.fromEntries(driver.entries()), {
      'b@h': { address: '127.0.0.1:8', groups: { b: 1 } },
    });
  });

  test('onView is called after each applied view, dials done; a throw is logged', async () => {
    const { driver, calls, warnings, host } = setup();
    const seen: string[] = [];
    driver.onView = (entries) => {
      seen.push(
        `${calls.length} dials: ${[...entries].map(([n, e]) => `${n}=${JSON.stringify(e.groups)}`).join(' ')}`,
      );
    };
    // A view before start is ignored: no view, no call.
    driver.update([{ address: '127.0.0.1:2', name: 'b@h' }]);
    assert.deepEqual(seen, []);
    await driver.start();
    host().update([{ address: '127.0.0.1:2', name: 'b@h', groups: { work: 1 } }]);
    host().update([{ address: '127.0.0.1:2', name: 'b@h', groups: { work: 1, web: 3 } }]);
    host().update([]);
    assert.deepEqual(seen, [
      '1 dials: b@h={"work":1}',
      '1 dials: b@h={"work":1,"web":3}',
      '2 dials: ',
    ]);
    driver.onView = () => {
      throw new Error('boom');
    };
    host().update([{ address: '127.0.0.1:3' }]);
    assert.deepEqual(calls.at(-1), 'keep 127.0.0.1:3 - (fake address)');
    assert.deepEqual(warnings, ['discovery view listener failed: boom']);
    await driver.stop(100);
    host().update([{ address: '127.0.0.1:4', name: 'x@h' }]);
    assert.equal(seen.length, 3, 'no view once stopped');
  });

  test('views before start and after stop are ignored', async () => {
    const { driver, calls, host } = setup();
    await driver.start();
    await driver.stop(100);
    host().update([{ address: '127.0.0.1:2' }]);
    assert.deepEqual(calls, []);
  });

  test('a stop that hangs is given up after its budget, with a warning', async () => {
    const hanging: Discovery = { kind: 'slow', start() {}, stop: () => new Promise(() => {}) };
    const { driver, warnings } = setup(hanging);
    await driver.start();
    const started = performance.now();
    await driver.stop(50);
    assert.ok(performance.now() - started < 1_000);
    assert.deepEqual(warnings, ['slow did not stop within 50 ms; going on without it']);
    // Idempotent: the same promise, no second stop.
    await driver.stop(50);
    assert.equal(warnings.length, 1);
  });

  test('the seeds are the default, labelled "seed" in warnings, with peer exchange on', async () => {
    const calls: string[] = [];
    const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
    const driver = new DiscoveryDriver(
      makeDiscovery(undefined, ['127.0.0.1:2']),
      { keep: (a, _p, label) => calls.push(`${a} ${label}`), forget() {}, isSelf: () => false },
      {
        name: 'me@h',
        address: () => '127.0.0.1:1',
        heartbeatTimeoutMs: 3_000,
        logger: quiet,
        incarnation: 'i1',
        groups: () => ({}),
      },
    );
    assert.equal(driver.peerExchange, true);
    await driver.start();
    assert.deepEqual(calls, ['127.0.0.1:2 seed']);
  });
});

describe('the discovery option', () => {
  const quiet = { cookie: 'c', logLevel: 'silent' } as const;
  const ok: Discovery = { start() {}, stop() {} };

  test('anything but a Discovery or a function is a TypeError naming the option', () => {
    for (const bad of [42, 'dns', {}, { start() {} }, { start() {}, stop() {}, kind: 3 }]) {
      assert.throws(
        () => resolveNodeOptions({ ...quiet, discovery: bad as never }),
        (err: Error) =>
          err instanceof TypeError &&
          err.message.startsWith(
            'option "discovery" must be a Discovery (an object with start and stop methods) or a function returning one, received',
          ),
        String(bad),
      );
    }
    assert.equal(resolveNodeOptions({ ...quiet, discovery: ok }).discovery, ok);
  });

  test('seeds and discovery together are refused', () => {
    assert.throws(
      () => resolveNodeOptions({ ...quiet, seeds: ['127.0.0.1:1'], discovery: ok }),
      /options "seeds" and "discovery" cannot be used together/,
    );
    assert.doesNotThrow(() => resolveNodeOptions({ ...quiet, seeds: [], discovery: ok }));
  });

  test('a factory is called once per node; what it returns is checked; an instance serves one node', () => {
    let made = 0;
    const factory = () => {
      made++;
      return { kind: 'made', start() {}, stop() {} } satisfies Discovery;
    };
    const first = makeDiscovery(factory, []);
    const second = makeDiscovery(factory, []);
    assert.equal(made, 2);
    assert.notEqual(first, second);
    assert.throws(
      () => makeDiscovery(() => 'nope' as never, []),
      /^TypeError: option "discovery": the function must return a Discovery .*, it returned "nope"$/,
    );
    const shared: Discovery = { kind: 'dns', start() {}, stop() {} };
    makeDiscovery(shared, []);
    assert.throws(
      () => makeDiscovery(shared, []),
      /option "discovery": this dns instance is already used by another node; give a function/,
    );
  });
});
