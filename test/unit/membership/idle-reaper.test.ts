/**
 * The idle reaper's decisions, on a fake clock: a connection is closed once its use counter
 * has stood still for the idle timeout and nothing is in flight on it, never earlier, and at
 * most one sweep later; the in-flight test runs only when a connection is due.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  IdleReaper,
  type IdleReaperHost,
  sweepIntervalMs,
} from '../../../src/membership/idle-reaper.js';
import { fakeClock } from '../../helpers/clock.js';

interface FakeConn {
  readonly name: string;
  activity: number;
  inFlight: boolean;
  /** `false`: `close` keeps it (as a connection whose peer cannot take an idle close). */
  closable: boolean;
}

function setup(idleMs: number, names: string[]) {
  const clock = fakeClock(1_000);
  const conns = new Map(
    names.map((name) => [name, { name, activity: 0, inFlight: false, closable: true }]),
  );
  const closed: { name: string; idleMs: number; at: number }[] = [];
  let busyAsked = 0;
  const host: IdleReaperHost<FakeConn> = {
    now: clock.now,
    connections: () => conns.values(),
    activity: (c) => c.activity,
    busy: () => {
      busyAsked++;
      return (c) => c.inFlight;
    },
    close: (c, idle) => {
      if (!c.closable) return false;
      closed.push({ name: c.name, idleMs: idle, at: clock.now() });
      conns.delete(c.name);
      return true;
    },
  };
  const reaper = new IdleReaper(host, idleMs);
  const conn = (name: string) => conns.get(name) as FakeConn;
  return { clock, conns, conn, closed, reaper, busyAsked: () => busyAsked };
}

test('a connection unused for the idle timeout is closed, not before', () => {
  const { clock, closed, reaper } = setup(100, ['a']);
  assert.equal(reaper.sweep(), 0, 'first seen');
  clock.advance(99);
  assert.equal(reaper.sweep(), 0, '99 ms idle');
  clock.advance(1);
  assert.equal(reaper.sweep(), 1);
  assert.deepEqual(closed, [{ name: 'a', idleMs: 100, at: 1_100 }]);
  assert.equal(reaper.tracked, 0);
});

test('any use restarts the idle time, counted from the sweep that saw it', () => {
  const { clock, conn, closed, reaper } = setup(100, ['a', 'b']);
  reaper.sweep();
  for (let i = 0; i < 10; i++) {
    clock.advance(60);
    conn('a').activity++;
    reaper.sweep();
  }
  assert.deepEqual(
    closed.map((c) => c.name),
    ['b'],
    'a was used every 60 ms; b never',
  );
  // a's last use was seen at the last sweep: closed 100 ms after it, not sooner.
  clock.advance(99);
  reaper.sweep();
  assert.equal(closed.length, 1);
  clock.advance(1);
  reaper.sweep();
  assert.deepEqual(closed.at(-1), { name: 'a', idleMs: 100, at: clock.now() });
});

test('a counter that changes and comes back is still use (the counter only grows)', () => {
  const { clock, conn, closed, reaper } = setup(100, ['a']);
  reaper.sweep();
  clock.advance(50);
  conn('a').activity += 2;
  reaper.sweep();
  clock.advance(99);
  reaper.sweep();
  assert.equal(closed.length, 0);
});

test('a connection with a call in flight is kept, however long; closed a timeout after its end', () => {
  const { clock, conn, closed, reaper, busyAsked } = setup(100, ['a']);
  conn('a').inFlight = true;
  reaper.sweep();
  for (let i = 0; i < 20; i++) {
    clock.advance(50);
    reaper.sweep();
  }
  assert.equal(closed.length, 0, 'a call waited 1 s for its reply');
  assert.ok(busyAsked() > 0);
  // The reply arrives: the counter moves, and the timeout starts again.
  conn('a').inFlight = false;
  conn('a').activity++;
  clock.advance(10);
  reaper.sweep();
  clock.advance(99);
  reaper.sweep();
  assert.equal(closed.length, 0);
  clock.advance(1);
  reaper.sweep();
  assert.equal(closed.length, 1);
});

test('the in-flight test runs only in sweeps where a connection is due', () => {
  const { clock, conn, reaper, busyAsked } = setup(100, ['a', 'b', 'c']);
  for (let i = 0; i < 10; i++) {
    clock.advance(50);
    for (const name of ['a', 'b', 'c']) conn(name).activity++;
    reaper.sweep();
  }
  assert.equal(busyAsked(), 0);
});

test('a connection the host keeps is asked again at the next sweep', () => {
  const { clock, conn, closed, reaper } = setup(100, ['a']);
  conn('a').closable = false;
  reaper.sweep();
  clock.advance(100);
  assert.equal(reaper.sweep(), 0);
  conn('a').closable = true;
  clock.advance(25);
  assert.equal(reaper.sweep(), 1);
  assert.equal(closed[0]?.idleMs, 125);
});

test('connections that are gone are forgotten; one that comes back starts afresh', () => {
  const { clock, conns, closed, reaper } = setup(100, ['a']);
  const a = conns.get('a') as FakeConn;
  reaper.sweep();
  conns.delete('a');
  clock.advance(60);
  reaper.sweep();
  assert.equal(reaper.tracked, 0);
  conns.set('a', a);
  clock.advance(60);
  reaper.sweep();
  clock.advance(99);
  reaper.sweep();
  assert.equal(closed.length, 0, 'idle 99 ms since it was seen again');
});

test('the sweep period is a quarter of the timeout, from 10 ms to 10 s', () => {
  assert.equal(sweepIntervalMs(300_000), 10_000);
  assert.equal(sweepIntervalMs(20_000), 5_000);
  assert.equal(sweepIntervalMs(100), 25);
  assert.equal(sweepIntervalMs(1), 10);
});
