import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type GroupChange, MembershipTable } from '../../../src/membership/table.js';

const join = (group: string, node: string): GroupChange => ({ group, type: 'join', nodes: [node] });
const leave = (group: string, node: string): GroupChange => ({
  group,
  type: 'leave',
  nodes: [node],
});

describe('MembershipTable local joins', () => {
  test('a double join needs a double leave', () => {
    const t = new MembershipTable('a');
    assert.deepEqual(t.joinLocal('g'), [join('g', 'a')]);
    assert.deepEqual(t.joinLocal('g'), []);
    assert.equal(t.localCount('g'), 2);
    assert.deepEqual(t.leaveLocal('g'), []);
    assert.deepEqual(t.members('g'), ['a']);
    assert.deepEqual(t.leaveLocal('g'), [leave('g', 'a')]);
    assert.deepEqual(t.members('g'), []);
    assert.equal(t.localCount('g'), 0);
  });

  test('leaving a group not joined is a no-op', () => {
    const t = new MembershipTable('a');
    assert.deepEqual(t.leaveLocal('g'), []);
    assert.equal(t.localCount('g'), 0);
    assert.deepEqual(t.groups(), []);
  });

  test('localState reports positive counts only', () => {
    const t = new MembershipTable('a');
    t.joinLocal('x');
    t.joinLocal('x');
    t.joinLocal('y');
    t.leaveLocal('y');
    t.joinLocal('__proto__');
    assert.deepEqual(t.localState(), { x: 2, ['__proto__']: 1 });
  });

  test('bad group names throw a TypeError naming the value', () => {
    const t = new MembershipTable('a');
    assert.throws(() => t.joinLocal(''), {
      name: 'TypeError',
      message: 'group must be a non-empty string, got ""',
    });
    assert.throws(() => t.leaveLocal(5 as unknown as string), {
      name: 'TypeError',
      message: 'group must be a non-empty string, got number 5',
    });
    assert.throws(() => new MembershipTable(undefined as unknown as string), TypeError);
  });
});

describe('MembershipTable remote state', () => {
  test('a sync replaces: groups missing from a new sync are left', () => {
    const t = new MembershipTable('a');
    assert.deepEqual(t.applySync('b', { x: 1, y: 2 }), [join('x', 'b'), join('y', 'b')]);
    assert.deepEqual(t.applySync('b', { y: 1, z: 1 }), [leave('x', 'b'), join('z', 'b')]);
    assert.deepEqual(t.groupsOf('b'), ['y', 'z']);
    assert.deepEqual(t.applySync('b', { y: 5, z: 1 }), [], 're-stating memberships is silent');
    assert.deepEqual(t.applySync('b', {}), [leave('y', 'b'), leave('z', 'b')]);
    assert.deepEqual(t.groups(), []);
  });

  test('malformed sync entries are ignored', () => {
    const t = new MembershipTable('a');
    const state = { ok: 1, zero: 0, neg: -1, frac: 1.5, nan: Number.NaN, inf: Infinity, str: '2' };
    assert.deepEqual(t.applySync('b', { ...state, '': 1 } as unknown as Record<string, number>), [
      join('ok', 'b'),
    ]);
    const map = new Map<unknown, unknown>([
      [1, 1],
      ['m', 2],
    ]);
    assert.deepEqual(t.applySync('c', map as unknown as Record<string, number>), [join('m', 'c')]);
    for (const junk of [null, undefined, 7, 'x', ['ok']]) {
      assert.deepEqual(t.applySync('d', junk as unknown as Record<string, number>), []);
    }
    assert.deepEqual(t.groups(), ['m', 'ok']);
  });

  test('deltas are absolute: replays are harmless and bad ones ignored', () => {
    const t = new MembershipTable('a');
    assert.deepEqual(t.applyDelta('b', 'g', 2), [join('g', 'b')]);
    assert.deepEqual(t.applyDelta('b', 'g', 2), []);
    assert.deepEqual(t.applyDelta('b', 'g', 1), []);
    assert.deepEqual(t.applyDelta('b', 'g', 0), [leave('g', 'b')]);
    assert.deepEqual(t.applyDelta('b', 'g', 0), []);
    for (const count of [-1, 1.5, Number.NaN, '1' as unknown as number]) {
      assert.deepEqual(t.applyDelta('b', 'g', count), []);
    }
    assert.deepEqual(t.applyDelta('b', '', 1), []);
    assert.deepEqual(t.members('g'), []);
  });

  test('dropPeer emits exactly one leave per group and only touches that peer', () => {
    const t = new MembershipTable('a');
    t.joinLocal('x');
    t.applySync('b', { x: 3, y: 1, z: 2 });
    t.applySync('c', { x: 1 });
    assert.deepEqual(t.dropPeer('b'), [leave('x', 'b'), leave('y', 'b'), leave('z', 'b')]);
    assert.deepEqual(t.dropPeer('b'), []);
    assert.deepEqual(t.members('x'), ['a', 'c']);
    assert.deepEqual(t.groupsOf('b'), []);
  });

  test('remote operations refuse to name this node', () => {
    const t = new MembershipTable('a');
    assert.throws(() => t.applySync('a', { g: 1 }), /must not be this node/);
    assert.throws(() => t.applyDelta('a', 'g', 1), /must not be this node/);
    assert.throws(() => t.dropPeer('a'), /must not be this node/);
    assert.throws(() => t.dropPeer(''), TypeError);
  });
});

describe('MembershipTable members()', () => {
  test('sorted, distinct, self included, frozen', () => {
    const t = new MembershipTable('m');
    t.applySync('z', { g: 2 });
    t.joinLocal('g');
    t.joinLocal('g');
    t.applyDelta('b', 'g', 3);
    const members = t.members('g');
    assert.deepEqual(members, ['b', 'm', 'z']);
    assert.ok(Object.isFrozen(members));
    assert.deepEqual(t.groupsOf('m'), ['g']);
  });

  test('identity is stable while unchanged and new after a change', () => {
    const t = new MembershipTable('a');
    t.joinLocal('g');
    t.joinLocal('h');
    const before = t.members('g');
    t.joinLocal('g'); // 1 -> 2: invisible
    t.applyDelta('b', 'h', 1); // another group
    t.applySync('c', {});
    assert.equal(t.members('g'), before);
    t.applyDelta('b', 'g', 1);
    const after = t.members('g');
    assert.notEqual(after, before);
    assert.deepEqual(after, ['a', 'b']);
    assert.equal(t.members('g'), after);
  });

  test('unknown and emptied groups share one frozen empty array', () => {
    const t = new MembershipTable('a');
    const empty = t.members('nope');
    assert.ok(Object.isFrozen(empty));
    t.joinLocal('g');
    t.leaveLocal('g');
    assert.equal(t.members('g'), empty);
    assert.equal(t.members('other'), empty);
  });
});

// ---- Model test ------------------------------------------------------------------------------

const SELF = 'n0';
const PEERS = ['n1', 'n2', 'n3'] as const;
const NODES = [SELF, ...PEERS];
const GROUPS = ['g0', 'g1', 'g2'] as const;

type Op =
  | { kind: 'joinLocal' | 'leaveLocal'; group: string }
  | { kind: 'applySync'; peer: string; entries: [string, unknown][] }
  | { kind: 'applyDelta'; peer: string; group: string; count: unknown }
  | { kind: 'dropPeer'; peer: string };

const group = fc.constantFrom(...GROUPS);
const peer = fc.constantFrom(...PEERS);
// Mostly valid counts, with the malformed values a hostile or buggy peer might send.
const count = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 1.5, Number.NaN, '2', null) },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('joinLocal' as const), group }),
  fc.record({ kind: fc.constant('leaveLocal' as const), group }),
  fc.record({
    kind: fc.constant('applySync' as const),
    peer,
    entries: fc.array(fc.tuple(fc.oneof(group, fc.constant('')), count), { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('applyDelta' as const), peer, group, count }),
  fc.record({ kind: fc.constant('dropPeer' as const), peer }),
);

/** The obviously-correct reference: node -> group -> count, everything recomputed naively. */
class Model {
  readonly counts = new Map<string, Map<string, number>>(NODES.map((n) => [n, new Map()]));
  private of(node: string): Map<string, number> {
    return this.counts.get(node) as Map<string, number>;
  }
  apply(o: Op): void {
    const valid = (c: unknown): c is number => typeof c === 'number' && Number.isInteger(c);
    switch (o.kind) {
      case 'joinLocal':
        this.of(SELF).set(o.group, (this.of(SELF).get(o.group) ?? 0) + 1);
        break;
      case 'leaveLocal':
        this.of(SELF).set(o.group, Math.max(0, (this.of(SELF).get(o.group) ?? 0) - 1));
        break;
      case 'applySync': {
        const next = new Map<string, number>();
        for (const [g, c] of Object.entries(Object.fromEntries(o.entries))) {
          if (g !== '' && valid(c) && c > 0) next.set(g, c);
        }
        this.counts.set(o.peer, next);
        break;
      }
      case 'applyDelta':
        if (valid(o.count) && o.count >= 0) this.of(o.peer).set(o.group, o.count);
        break;
      case 'dropPeer':
        this.counts.set(o.peer, new Map());
    }
  }
  members(g: string): string[] {
    return NODES.filter((n) => (this.of(n).get(g) ?? 0) > 0).sort();
  }
}

function run(t: MembershipTable, o: Op): GroupChange[] {
  switch (o.kind) {
    case 'joinLocal':
      return t.joinLocal(o.group);
    case 'leaveLocal':
      return t.leaveLocal(o.group);
    case 'applySync':
      return t.applySync(o.peer, Object.fromEntries(o.entries) as Record<string, number>);
    case 'applyDelta':
      return t.applyDelta(o.peer, o.group, o.count as number);
    case 'dropPeer':
      return t.dropPeer(o.peer);
  }
}

test('model: members and change streams agree with a naive reference', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const table = new MembershipTable(SELF);
      const model = new Model();
      // What a monitor knows: only the changes it was told about.
      const view = new Map<string, Set<string>>(GROUPS.map((g) => [g, new Set()]));
      for (const o of ops) {
        const before = new Map(GROUPS.map((g) => [g, table.members(g)]));
        const changes = run(table, o);
        model.apply(o);
        const seen = new Set<string>();
        for (const c of changes) {
          assert.ok(!seen.has(c.group), `two changes for ${c.group} in one operation`);
          seen.add(c.group);
          assert.ok(c.nodes.length > 0);
          const members = view.get(c.group) as Set<string>;
          for (const n of c.nodes) {
            assert.equal(members.has(n), c.type === 'leave', `${c.type} of ${n} is not news`);
            if (c.type === 'join') members.add(n);
            else members.delete(n);
          }
        }
        for (const g of GROUPS) {
          const actual = table.members(g);
          assert.deepEqual(actual, model.members(g), `members(${g}) after ${JSON.stringify(o)}`);
          assert.deepEqual([...(view.get(g) as Set<string>)].sort(), actual);
          // Unchanged membership must keep its identity; callers cache by it.
          if (!seen.has(g)) assert.equal(actual, before.get(g));
        }
        assert.deepEqual(
          table.groups(),
          GROUPS.filter((g) => model.members(g).length > 0),
        );
        const local = [...(model.counts.get(SELF) ?? [])].filter(([, c]) => c > 0);
        assert.deepEqual(table.localState(), Object.fromEntries(local));
        for (const g of GROUPS)
          assert.equal(table.localCount(g), model.counts.get(SELF)?.get(g) ?? 0);
        for (const n of NODES) {
          const expected = GROUPS.filter((g) => (model.counts.get(n)?.get(g) ?? 0) > 0);
          assert.deepEqual(table.groupsOf(n), expected);
        }
      }
    }),
    { seed: 0x5eed, numRuns: 300 },
  );
});
