/**
 * The layout arithmetic of deterministic subsetting: window sizes, shares, and the property the
 * weighting exists for (every member gets the same total share from all callers).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apertureLayout, windowShares } from '../../../src/balancer/aperture.js';

const names = (prefix: string, n: number) =>
  Object.freeze(Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(5, '0')}@h`));

/** Each member's total share over all `c` callers (member index → sum). */
function totals(n: number, c: number, minAperture: number): Float64Array {
  const sum = new Float64Array(n);
  for (let i = 0; i < c; i++) {
    for (const [j, share] of windowShares(n, c, i, minAperture)) sum[j] += share;
  }
  return sum;
}

describe('aperture layout', () => {
  test('90 members, 10 callers, minAperture 12: 12 members each, the edges at half weight', () => {
    const members = names('m', 90);
    const callers = names('c', 10);
    for (let i = 0; i < 10; i++) {
      const layout = apertureLayout(members, callers, callers[i] as string, 12);
      assert.equal(layout.callerIndex, i);
      assert.equal(layout.callerCount, 10);
      assert.equal(layout.members.length, 12);
      // the window starts at member 9i; its first and last 3 members are shared with a neighbour
      const first = (9 * i) % 90;
      const expected = Array.from({ length: 12 }, (_, k) => members[(first + k) % 90]).sort();
      assert.deepEqual(layout.members, expected);
      const byNode = new Map(layout.members.map((node, k) => [node, layout.shares[k]]));
      for (let k = 0; k < 12; k++) {
        const share = byNode.get(members[(first + k) % 90] as string) as number;
        const full = k >= 3 && k < 9;
        assert.ok(Math.abs(share - (full ? 1 / 9 : 1 / 18)) < 1e-12, `k=${k}: ${share}`);
      }
    }
  });

  test('windows stay small: at most ceil(max(minAperture, N/C)) + 1 members, ≤ 16 while N/C ≤ 15', () => {
    const cases: [number, number][] = [
      [90, 10],
      [1000, 100],
      [1000, 90],
      [1000, 67],
      [997, 101],
      [500, 64],
      [10_000, 1000],
      [10_000, 700],
      [37, 5],
      [13, 100],
    ];
    for (const [n, c] of cases) {
      let largest = 0;
      for (let i = 0; i < c; i++) largest = Math.max(largest, windowShares(n, c, i, 12).size);
      const bound = Math.ceil(Math.max(12, n / c)) + 1;
      assert.ok(largest <= Math.min(bound, n), `N=${n} C=${c}: ${largest} > ${bound}`);
      if (n / c <= 15) assert.ok(largest <= 16, `N=${n} C=${c}: ${largest}`);
    }
  });

  test('every member gets the same total share (C/N), and each caller’s shares sum to 1', () => {
    let combinations = 0;
    for (const n of [1, 2, 3, 7, 12, 13, 30, 89, 90, 91, 250, 1001]) {
      for (const c of [1, 2, 3, 7, 10, 11, 64, 100, 333]) {
        for (const minAperture of [1, 2, 5, 12, 13, 40, 2000]) {
          const sum = totals(n, c, minAperture);
          for (let j = 0; j < n; j++) {
            assert.ok(
              Math.abs((sum[j] as number) - c / n) < 1e-9,
              `N=${n} C=${c} minAperture=${minAperture}: member ${j} gets ${sum[j]}, not ${c / n}`,
            );
          }
          for (let i = 0; i < c; i++) {
            let callerTotal = 0;
            for (const share of windowShares(n, c, i, minAperture).values()) callerTotal += share;
            assert.ok(Math.abs(callerTotal - 1) < 1e-9, `N=${n} C=${c}: caller ${i}`);
          }
          combinations++;
        }
      }
    }
    assert.equal(combinations, 12 * 9 * 7);
  });

  test('no more members than minAperture: every member, equal shares', () => {
    const members = names('m', 12);
    const layout = apertureLayout(members, names('c', 5), 'c00003@h', 12);
    assert.deepEqual(layout.members, members);
    for (const share of layout.shares) assert.ok(Math.abs(share - 1 / 12) < 1e-12);
  });

  test('more callers than the window needs: w = 1/C never drops below minAperture / N', () => {
    // 1000 members, 10 callers: each needs 100 members so that every member has a caller
    const layout = windowShares(1000, 10, 3, 12);
    assert.equal(layout.size, 100);
    for (const share of layout.values()) assert.ok(Math.abs(share - 1 / 100) < 1e-12);
  });

  test('a caller not (yet) among the callers counts itself; no members, no window', () => {
    const layout = apertureLayout(names('m', 30), ['a@h', 'z@h'], 'm@h', 4);
    assert.equal(layout.callerIndex, 1);
    assert.equal(layout.callerCount, 3);
    assert.equal(layout.members.length, 10);
    const empty = apertureLayout([], ['a@h'], 'a@h', 12);
    assert.deepEqual([empty.members, empty.shares, empty.callerCount], [[], [], 1]);
  });

  test('what moves: a member joining changes each window by ≤ 3 members; a caller joining shifts windows', () => {
    const window = (n: number, c: number, i: number) => new Set(windowShares(n, c, i, 12).keys());
    let worstMember = 0;
    for (let inserted = 0; inserted <= 90; inserted++) {
      for (let i = 0; i < 10; i++) {
        const before = window(90, 10, i);
        // names after the inserted one move up an index: map the new indexes back to old names
        const after = [...window(91, 10, i)].map((j) =>
          j === inserted ? -1 : j > inserted ? j - 1 : j,
        );
        const changed =
          after.filter((j) => !before.has(j)).length +
          [...before].filter((j) => !after.includes(j)).length;
        worstMember = Math.max(worstMember, changed);
      }
    }
    assert.ok(worstMember <= 3, `${worstMember}`);
    let kept = 0;
    let connections = 0;
    for (let inserted = 0; inserted <= 10; inserted++) {
      for (let i = 0; i < 10; i++) {
        const before = window(90, 10, i);
        const after = window(90, 11, i >= inserted ? i + 1 : i);
        kept += [...before].filter((j) => after.has(j)).length;
        connections += before.size;
      }
    }
    // documented in the subsetting how-to: about 80 % of the connections survive a caller joining
    assert.ok(kept / connections > 0.75 && kept / connections < 0.85, `${kept / connections}`);
  });
});
