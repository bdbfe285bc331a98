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
