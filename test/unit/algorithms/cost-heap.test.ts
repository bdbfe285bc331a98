import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CostHeap } from '../../../src/algorithms/cost-heap.js';

type Op = { kind: 'set'; slot: number; key: number } | { kind: 'delete'; slot: number };

const SLOTS = 12;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      slot: fc.integer({ min: 0, max: SLOTS - 1 }),
      key: fc.integer({ min: -5, max: 5 }).map((k) => k / 2), // small range: many equal keys
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('delete' as const),
      slot: fc.integer({ min: 0, max: SLOTS - 1 }),
    }),
  },
);

describe('CostHeap', () => {
  it('always has a lowest key on top, against a plain map (property)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const heap = new CostHeap();
        heap.reset(SLOTS);
        const model = new Map<number, number>();
        for (const op of ops) {
          if (op.kind === 'set') {
            heap.set(op.slot, op.key);
            model.set(op.slot, op.key);
          } else {
            heap.delete(op.slot);
            model.delete(op.slot);
          }
          assert.equal(heap.size, model.size);
          for (let slot = 0; slot < SLOTS; slot++) assert.equal(heap.has(slot), model.has(slot));
          if (model.size > 0) {
            assert.equal(heap.keyOf(heap.top()), Math.min(...model.values()));
          }
        }
      }),
      { seed: 0x4ea9, numRuns: 400 },
    );
  });

  it('re-keys a slot up and down', () => {
    const heap = new CostHeap();
    heap.reset(3);
    heap.set(0, 1);
    heap.set(1, 2);
    heap.set(2, 3);
    assert.equal(heap.top(), 0);
    heap.set(0, 10);
    assert.equal(heap.top(), 1);
    heap.set(2, -1);
    assert.equal(heap.top(), 2);
    heap.delete(2);
    heap.delete(2);
    assert.equal(heap.top(), 1);
    assert.equal(heap.size, 2);
  });
});
