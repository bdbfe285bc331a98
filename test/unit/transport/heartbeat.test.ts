import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkIntervalMs,
  Heartbeat,
  type HeartbeatHost,
  MIN_PING_INTERVAL_MS,
  pingIntervalMs,
} from '../../../src/transport/heartbeat.js';

/** A heartbeat on a fake clock that records pings and verdicts and queues deferred checks. */
function setup(timeoutMs: number) {
  const log: string[] = [];
  const deferred: (() => void)[] = [];
  let now = 0;
  const host: HeartbeatHost = {
    now: () => now,
    ping: () => log.push(`ping@${now}`),
    silent: (ms) => log.push(`down@${now} silent ${ms}`),
    defer: (check) => deferred.push(check),
  };
  const heartbeat = new Heartbeat(host, timeoutMs);
  return {
    heartbeat,
    log,
    at(ms: number) {
      now = ms;
    },
    /** Runs what was deferred (the end of the event loop's turn). */
    endOfTurn() {
      for (const check of deferred.splice(0)) check();
    },
  };
}

describe('pingIntervalMs and checkIntervalMs', () => {
  test('pings every fifth of the stricter timeout of the pair, never under the minimum', () => {
    assert.equal(pingIntervalMs(3_000, 3_000), 600);
    assert.equal(pingIntervalMs(3_000, 400), 80);
    assert.equal(pingIntervalMs(1_500, 60_000), 300);
    assert.equal(pingIntervalMs(50, 3_000), MIN_PING_INTERVAL_MS);
  });

  test("checks every tenth of the node's own timeout, never under the minimum", () => {
    assert.equal(checkIntervalMs(3_000), 300);
    assert.equal(checkIntervalMs(1_500), 150);
    assert.equal(checkIntervalMs(50), MIN_PING_INTERVAL_MS);
  });
});

describe('Heartbeat', () => {
  test('pings on every ping, whatever was received', () => {
    const h = setup(1_000);
    for (const at of [200, 400, 600]) {
      h.at(at);
      h.heartbeat.received();
      h.heartbeat.ping();
      h.heartbeat.check();
    }
    h.endOfTurn();
    assert.deepEqual(h.log, ['ping@200', 'ping@400', 'ping@600']);
  });

  test('declares the peer down after the turn in which a check found it silent for the timeout', () => {
    const h = setup(1_000);
    h.at(900);
    h.heartbeat.check();
    h.endOfTurn();
    assert.deepEqual(h.log, []);
    h.at(1_000);
    h.heartbeat.check();
    assert.deepEqual(h.log, [], 'no verdict inside the check');
    h.endOfTurn();
    assert.deepEqual(h.log, ['down@1000 silent 1000']);
  });

  test('frames read after a late check (this node was stalled) cancel the verdict', () => {
    const h = setup(1_000);
    // This node's loop was blocked 5 s: the check fires late and finds 5 s of "silence", but
    // the peer's frames are waiting in the socket and are read before the verdict.
    h.at(5_000);
    h.heartbeat.check();
    h.heartbeat.received();
    h.endOfTurn();
    assert.deepEqual(h.log, []);
  });

  test('one verdict pending at a time; no ping or verdict after stop()', () => {
    const h = setup(100);
    h.at(500);
    h.heartbeat.check();
    h.heartbeat.check();
    h.endOfTurn();
    assert.deepEqual(h.log, ['down@500 silent 500']);
    h.heartbeat.check();
    h.heartbeat.stop();
    h.endOfTurn();
    h.heartbeat.ping();
    h.heartbeat.check();
    h.endOfTurn();
    assert.deepEqual(h.log, ['down@500 silent 500']);
  });
});

/**
 * A discrete simulation of two nodes on a fake clock: the sender pings every `interval` (its
 * timer fires once, late, after a stall, then keeps its period from there, as `setInterval`
 * does), the receiver's heartbeat checks every `check` ms with another phase.
 */
function simulate(opts: {
  timeout: number;
  interval: number;
  check: number;
  senderPhase: number;
  receiverPhase: number;
  stallFrom: number;
  stallMs: number;
  end: number;
}): { downAt: number | undefined; lastFrameAt: number } {
  const { timeout, interval, stallFrom, stallMs, end } = opts;
  const h = setup(timeout);
  const stallEnd = stallFrom + stallMs;
  // The sender's frame times: ticks before the stall, one on resuming, then the new period.
  const sends: number[] = [];
  for (let t = opts.senderPhase; t < stallFrom; t += interval) sends.push(t);
  if (stallEnd < end) for (let t = stallEnd; t < end; t += interval) sends.push(t);
  const lastFrameAt = Math.max(...sends.filter((t) => t <= stallFrom));
  let next = 0;
  for (let t = opts.receiverPhase; t < end; t += opts.check) {
    // Frames are read as they arrive; one arriving with the tick is read in that turn's poll
    // phase, before the deferred verdict.
    for (; next < sends.length && (sends[next] as number) < t; next++) {
      h.at(sends[next] as number);
      h.heartbeat.received();
    }
    h.at(t);
    h.heartbeat.check();
    for (; next < sends.length && sends[next] === t; next++) h.heartbeat.received();
    h.endOfTurn();
    if (h.log.some((line) => line.startsWith('down'))) return { downAt: t, lastFrameAt };
  }
  return { downAt: undefined, lastFrameAt };
}

describe('the bounds, simulated over every phase (fake clock)', () => {
  const timeout = 3_000;
  const interval = pingIntervalMs(timeout, timeout);
  const check = checkIntervalMs(timeout);
  const phases = Array.from({ length: 12 }, (_, i) => Math.floor((i * interval) / 12));

  test('a stall shorter than timeout - interval is never a nodedown', () => {
    for (const senderPhase of phases) {
      for (const receiverPhase of phases) {
        for (const stallFrom of [1_000, 1_001, 1_150, 1_299, 1_450, 1_599]) {
          const run = simulate({
            timeout,
            interval,
            check,
            senderPhase,
            receiverPhase,
            stallFrom,
            stallMs: timeout - interval - 1,
            end: 8_000,
          });
          assert.equal(run.downAt, undefined, `phases ${senderPhase}/${receiverPhase}`);
        }
      }
    }
  });

  test('a peer that goes silent is down between timeout and timeout + check interval after its last frame', () => {
    for (const senderPhase of phases) {
      for (const receiverPhase of phases) {
        const run = simulate({
          timeout,
          interval,
          check,
          senderPhase,
          receiverPhase,
          stallFrom: 1_000,
          stallMs: 100_000,
          end: 8_000,
        });
        assert.ok(run.downAt !== undefined);
        const after = run.downAt - run.lastFrameAt;
        assert.ok(after >= timeout && after <= timeout + check, `down ${after} ms after`);
      }
    }
  });
});
