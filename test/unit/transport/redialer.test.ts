import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../../../src/logger.js';
import { Redialer, WARN_AFTER_FAILING_MS } from '../../../src/transport/redialer.js';

/** A redialer whose dials succeed or fail as the test says, on a fake clock. */
function setup() {
  const state = { now: 0, reachable: true, connected: false, warnings: [] as string[] };
  const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
  const redialer = new Redialer({
    connect: async () => {
      if (!state.reachable) throw new Error('cannot connect to a:1: connection refused');
      state.connected = true;
      return 'peer@h';
    },
    isConnected: () => state.connected,
    logger: quiet,
    warnLimited: (_key, message) => state.warnings.push(message),
    now: () => state.now,
  });
  return { state, redialer };
}

/** Lets the first attempt and a re-dial (backoff 50–100 ms) happen. */
const attempts = () => new Promise((resolve) => setTimeout(resolve, 130));

test('a seed never reached warns at its first failure', async (t) => {
  const { state, redialer } = setup();
  t.after(() => redialer.stop());
  state.reachable = false;
  redialer.keep('a:1', 'seed');
  await attempts();
  assert.equal(state.warnings.length >= 1, true);
  assert.match(
    state.warnings[0] ?? '',
    /^seed: cannot connect to a:1: connection refused; retrying/,
  );
});

test('a seed reached before warns only after failing for a while; a lost peer never does', async (t) => {
  const { state, redialer } = setup();
  t.after(() => redialer.stop());
  redialer.keep('a:1', 'seed');
  await attempts();
  assert.equal(state.connected, true);
  // It goes away (a restart): the re-dials fail, quietly at first.
  state.connected = false;
  state.reachable = false;
  redialer.peerLost('peer@h');
  await attempts();
  assert.deepEqual(state.warnings, []);
  state.now += WARN_AFTER_FAILING_MS;
  // The next re-dial (backoff grows: up to 400 ms by now) fails past the grace period.
  for (let i = 0; i < 20 && state.warnings.length === 0; i++) await attempts();
  assert.equal(state.warnings.length >= 1, true, 'still unreachable 10 s later: a warning');

  const lost = setup();
  t.after(() => lost.redialer.stop());
  lost.state.reachable = false;
  lost.redialer.keep('b:1', 'lost', 'gone@h');
  lost.state.now += WARN_AFTER_FAILING_MS * 2;
  await attempts();
  assert.deepEqual(lost.state.warnings, []);
});

test('an address learnt from a peer list becomes a seed when discovery reports it', async (t) => {
  const { state, redialer } = setup();
  t.after(() => redialer.stop());
  state.reachable = false;
  redialer.keep('a:1', 'learnt', 'peer@h');
  state.now += WARN_AFTER_FAILING_MS * 7; // a learnt address is given up after 60 s...
  redialer.keep('a:1', 'seed', undefined, 'dns address');
  await attempts();
  // ...a seed is not, and its warnings use the discovery's label.
  assert.equal(redialer.mayLeadTo('anyone@h'), true);
  assert.match(state.warnings[0] ?? '', /^dns address: cannot connect to a:1/);
});

test('a dial that ends after its address was replaced or forgotten changes nothing', async (t) => {
  let dials = 0;
  const pending: ((peer: string) => void)[] = [];
  const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
  const redialer = new Redialer({
    connect: () => {
      dials++;
      return new Promise<string>((resolve) => pending.push(resolve));
    },
    isConnected: () => false,
    logger: quiet,
    warnLimited() {},
  });
  t.after(() => redialer.stop());
  redialer.keep('a:1', 'learnt', 'peer@h');
  redialer.keep('a:1', 'seed'); // discovery reports it while the learnt dial is under way
  assert.equal(dials, 2);
  pending[0]?.('peer@h'); // the learnt dial succeeds: it must not drop the seed
  await attempts();
  assert.equal(redialer.mayLeadTo('other@h'), true, 'the seed (any node) is still kept');
  redialer.forget('a:1');
  pending[1]?.('peer@h');
  await attempts();
  redialer.peerLost('peer@h');
  await attempts();
  assert.equal(dials, 2, 'forgotten: never dialled again');
  assert.equal(redialer.mayLeadTo('peer@h'), false);
});
