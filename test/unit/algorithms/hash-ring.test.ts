import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { hashBytes, hashKey, hashNumber, hashString } from '../../../src/algorithms/hash.js';
import { HashRing, type HashRingOptions } from '../../../src/algorithms/hash-ring.js';
import type { AlgorithmContext } from '../../../src/algorithms/types.js';
import { seededRandom } from '../../helpers/random.js';

function context(seed: number, options: HashRingOptions = {}): AlgorithmContext<HashRingOptions> {
  return { balancerName: 'test', options, random: seededRandom(seed), now: () => 0 };
}

const members = (n: number, prefix = 'worker'): readonly string[] =>
  Object.freeze(Array.from({ length: n }, (_, i) => `${prefix}${i}@10.0.0.${i}`).sort());

const KEYS = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

function owners(ring: HashRing, nodes: readonly string[]): string[] {
  return KEYS.map((key) => ring.chooseFromNodes(nodes, { key }));
}

describe('hash', () => {
  it('is FNV-1a (published vectors) finished with murmur3 fmix32', () => {
    const fmix32 = (h0: number) => {
      let h = h0 ^ (h0 >>> 16);
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      return (h ^ (h >>> 16)) >>> 0;
    };
    const vectors: [string, number][] = [
      ['', 0x811c9dc5],
      ['a', 0xe40c292c],
      ['foobar', 0xbf9cf968],
    ];
    for (const [input, fnv] of vectors) assert.equal(hashString(input), fmix32(fnv), input);
  });

  it('hashes a string like its UTF-8 bytes, including lone surrogates', () => {
    const encoder = new TextEncoder();
    const table = ['', 'a', 'é', '€', '𝄞', 'a\ud800b', '\udc00', 'x\ud83d', 'node-1@10.0.0.1'];
    for (const s of table) assert.equal(hashString(s), hashBytes(encoder.encode(s)), s);
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        assert.equal(hashString(s), hashBytes(encoder.encode(s)));
      }),
      { seed: 7, numRuns: 2_000 },
    );
  });

  it('hashes a number like its String() form', () => {
    const table = [0, -0, 1, -1, 9, 10, 99, 100, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 1.5, -0.25];
    for (const n of [...table, Number.NaN, Number.POSITIVE_INFINITY, 1e21]) {
      assert.equal(hashNumber(n), hashString(String(n)), String(n));
    }
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeInteger(), fc.double()), (n) => {
        assert.equal(hashNumber(n), hashString(String(n)));
      }),
      { seed: 8, numRuns: 5_000 },
    );
  });

  it('rejects other key types with a TypeError naming key', () => {
    assert.throws(() => hashKey({} as never), { name: 'TypeError', message: /^key must be/ });
  });
});

describe('HashRing', () => {
  it('routes a key to the same member in separate instances with different seeds', () => {
    const nodes = members(10);
    const a = new HashRing(context(1));
    const b = new HashRing(context(2));
    for (const key of KEYS.slice(0, 5_000)) {
      assert.equal(a.chooseFromNodes(nodes, { key }), b.chooseFromNodes(nodes, { key }));
    }
    assert.equal(
      a.chooseFromNodes(nodes, { key: 'user-1' }),
      b.chooseFromNodes(nodes, { key: new TextEncoder().encode('user-1') }),
    );
    assert.equal(a.chooseFromNodes(nodes, { key: 42 }), b.chooseFromNodes(nodes, { key: '42' }));
  });

  it('moves about 1/(N+1) of the keys, all to the new member, when one joins N = 10', (t) => {
    const before = members(10);
    const after = Object.freeze([...before, 'newcomer@10.0.0.99'].sort());
    const ring = new HashRing(context(3));
    const from = owners(ring, before);
    const to = owners(ring, after);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) {
      if (from[i] === to[i]) continue;
      moved++;
      assert.equal(to[i], 'newcomer@10.0.0.99', `${KEYS[i]} moved between old members`);
    }
    const ideal = KEYS.length / 11;
    t.diagnostic(`moved ${moved} of ${KEYS.length} keys (ideal ${ideal.toFixed(0)})`);
    assert.ok(moved > ideal * 0.8 && moved < ideal * 1.2, `moved ${moved}`);
  });

  it("moves only the departed member's keys when one leaves", () => {
    const before = members(10);
    const gone = before[3];
    const after = Object.freeze(before.filter((n) => n !== gone));
    const ring = new HashRing(context(4));
    const from = owners(ring, before);
    const to = owners(ring, after);
    let moved = 0;
    for (let i = 0; i < KEYS.length; i++) {
      if (from[i] === gone) {
        moved++;
        assert.notEqual(to[i], gone);
      } else {
        assert.equal(to[i], from[i], `${KEYS[i]} moved though its owner stayed`);
      }
    }
    assert.ok(moved > 0);
  });

  it('spreads keys evenly with 128 virtual nodes over 10 members', (t) => {
    const nodes = members(10);
    const ring = new HashRing(context(5));
    const shares = [...ring.shares(nodes).values()];
    const maxShare = Math.max(...shares) / (1 / nodes.length);
    const counts = new Map<string, number>();
    for (const node of owners(ring, nodes)) counts.set(node, (counts.get(node) ?? 0) + 1);
    const maxKeys = Math.max(...counts.values()) / (KEYS.length / nodes.length);
    t.diagnostic(
      `max/mean: ${maxShare.toFixed(3)} of the hash space, ${maxKeys.toFixed(3)} of keys`,
    );
    assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(maxShare < 1.3, `hash space max/mean ${maxShare}`);
    assert.ok(maxKeys < 1.3, `keys max/mean ${maxKeys}`);
  });

  it('returns the owner first, then distinct members clockwise; all when asked for more', () => {
    const nodes = members(10);
    const ring = new HashRing(context(6));
    for (const key of KEYS.slice(0, 2_000)) {
      const owner = ring.chooseFromNodes(nodes, { key });
      const three = ring.chooseNodes(nodes, 3, { key });
      assert.equal(three[0], owner);
      assert.equal(new Set(three).size, 3);
      const all = ring.chooseNodes(nodes, 50, { key });
      assert.equal(all.length, 10);
      assert.deepEqual([...all].sort(), [...nodes]);
      assert.deepEqual(all.slice(0, 3), three, 'replica order is stable');
    }
    assert.deepEqual(ring.chooseNodes(nodes, 0, { key: 'k' }), []);
  });

  it('is rebuilt whenever the member array changes: no departed member is returned', () => {
    const ring = new HashRing(context(7));
    let nodes = members(10);
    for (let round = 0; round < 10; round++) {
      const gone = nodes[0];
      nodes = Object.freeze(nodes.slice(1).concat(`late${round}@10.0.1.${round}`).sort());
      for (const key of KEYS.slice(0, 3_000)) {
        assert.notEqual(ring.chooseFromNodes(nodes, { key }), gone);
        assert.ok(!ring.chooseNodes(nodes, 3, { key }).includes(gone));
      }
    }
  });

  it('falls back to the injected random source without a key', () => {
    const nodes = members(10);
    const ring = new HashRing(context(8));
    const mirror = seededRandom(8);
    for (let i = 0; i < 50; i++) {
      assert.equal(ring.chooseFromNodes(nodes, {}), nodes[Math.floor(mirror() * 10)]);
    }
    const some = ring.chooseNodes(nodes, 4, {});
    assert.equal(new Set(some).size, 4);
    assert.equal(ring.chooseNodes(nodes, 40, {}).length, 10);
  });

  const badWeights: unknown[] = [
    0,
    -1,
    1.5,
    '128',
    Number.NaN,
    Number.POSITIVE_INFINITY,
    null,
    5_000,
  ];
  for (const weight of badWeights) {
    it(`rejects weight ${String(weight)} with a TypeError naming weight`, () => {
      assert.throws(() => new HashRing(context(0, { weight: weight as number })), {
        name: 'TypeError',
        message: /^weight must be a positive integer/,
      });
    });
  }

  it('honours a custom weight', () => {
    const nodes = members(3);
    const ring = new HashRing(context(9, { weight: 1 }));
    assert.equal(ring.shares(nodes).size, 3);
    const coarse = Math.max(...ring.shares(nodes).values());
    const fine = Math.max(...new HashRing(context(9, { weight: 1024 })).shares(nodes).values());
    assert.ok(fine < coarse);
  });
});

describe('HashRing with bounded loads (balanceFactor)', () => {
  const nodes = members(8);

  it('keeps the same key on the same member while it is under the cap', () => {
    const plain = new HashRing(context(1));
    const bounded = new HashRing(context(1, { balanceFactor: 1.25 }));
    for (const key of KEYS.slice(0, 2_000)) {
      const node = bounded.chooseFromNodes(nodes, { key });
      assert.equal(node, plain.chooseFromNodes(nodes, { key }), 'select+release: never at the cap');
      bounded.releaseNode(node);
    }
  });

  it('passes a hot key clockwise once its owner is at the cap', () => {
    const ring = new HashRing(context(2, { balanceFactor: 1.25 }));
    const owner = ring.chooseFromNodes(nodes, { key: 'hot' });
    const replicas = ring.chooseNodes(nodes, nodes.length, { key: 'hot' });
    const seen: string[] = [owner];
    for (let i = 0; i < 40; i++) seen.push(ring.chooseFromNodes(nodes, { key: 'hot' }));
    // cap = ceil(1.25 * (in flight + 1) / 8): the owner holds only its share, then the next
    assert.ok(ring.inFlight(owner) <= Math.ceil((1.25 * 41) / 8));
    const order = [...new Set(seen)];
    assert.deepEqual(order, replicas.slice(0, order.length), 'spills in ring order');
    for (const node of seen) ring.releaseNode(node);
    assert.equal(ring.chooseFromNodes(nodes, { key: 'hot' }), owner, 'back home once released');
  });

  it('never puts more than ceil(factor × average) in flight on a member (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom('k1', 'k2', 'k3'), fc.string(), fc.constant(null)), {
          maxLength: 300,
        }),
        fc.double({ min: 1.01, max: 3, noNaN: true }),
        fc.integer(),
        (keys, factor, seed) => {
          const ring = new HashRing(context(seed, { balanceFactor: factor }));
          const rand = seededRandom(seed);
          const held: string[] = [];
          for (const key of keys) {
            if (key === null && held.length > 0) {
              ring.releaseNode(held.splice(Math.floor(rand() * held.length), 1)[0]);
              continue;
            }
            const cap = Math.ceil((factor * (held.length + 1)) / nodes.length);
            const node = ring.chooseFromNodes(nodes, { key: key ?? 'x' });
            held.push(node);
            assert.ok(ring.inFlight(node) <= cap, `${ring.inFlight(node)} > cap ${cap}`);
          }
        },
      ),
      { seed: 0xb0d, numRuns: 300 },
    );
  });

  it('counts nothing without a bound, and rejects a factor of 1 or less', () => {
    const ring = new HashRing(context(3));
    ring.chooseFromNodes(nodes, { key: 'a' });
    assert.equal(ring.inFlight(ring.chooseFromNodes(nodes, { key: 'a' })), 0);
    assert.throws(() => new HashRing(context(3, { balanceFactor: 1 })), /balanceFactor must be/);
    assert.throws(() => new HashRing(context(3, { balanceFactor: 0.5 })), /balanceFactor must be/);
  });
});
