/**
 * Deterministic aperture, as a model counts it: `callers` callers and `members` members share
 * a ring of length 1. Member j owns the arc [j/M, (j+1)/M); caller i keeps the window
 * [i/C, i/C + w) with w = max(minAperture/M, 1/C) (at most the whole ring), and connects to
 * every member whose arc the window overlaps. Every point of the ring is in some window, so
 * every member has at least one caller.
 *
 * Exact in integers: the ring is cut into M·C units, so a member's arc is C units, a window
 * starts at a multiple of M and is max(minAperture·C, M) units wide.
 */

import { windowShares } from '../../src/balancer/aperture.js';

/** Who connects to whom under the aperture. */
export interface Aperture {
  /** Window width, as a fraction of the ring. */
  width: number;
  /** Members in each caller's window, by caller index. */
  perCaller: number[];
  /** Callers whose window overlaps each member's arc, by member index. */
  perMember: number[];
  /**
   * Each member's share of the calls when every caller makes one call a second and spreads it
   * evenly over its window (Finagle's way with a width that is not a whole number of caller
   * slices).
   */
  loadPerMember: number[];
  /**
   * The same with the library's coverage weights (`windowShares` of src/balancer/aperture.ts,
   * what `subset` does): each caller gives each member of its window its share.
   */
  weightedLoadPerMember: number[];
}

/** The windows of `callers` callers over `members` members. */
export function aperture(callers: number, members: number, minAperture: number): Aperture {
  const C = callers;
  const M = members;
  if (!(Number.isInteger(C) && Number.isInteger(M) && C > 0 && M > 0))
    throw new RangeError(`aperture needs whole, positive counts: ${C} callers, ${M} members`);
  const ring = M * C;
  const units = Math.min(Math.max(minAperture * C, M), ring);
  // A difference array over members, doubled so a window that wraps needs no special case.
  const delta = new Array<number>(2 * M + 1).fill(0);
  const load = new Array<number>(2 * M + 1).fill(0);
  const perCaller: number[] = [];
  for (let i = 0; i < C; i++) {
    const start = i * M;
    const first = Math.floor(start / C);
    const count = Math.min(Math.ceil((start + units) / C) - first, M);
    perCaller.push(count);
    (delta[first] as number)++;
    (delta[first + count] as number)--;
    (load[first] as number) += 1 / count;
    (load[first + count] as number) -= 1 / count;
  }
  const perMember = new Array<number>(M).fill(0);
  const loadPerMember = new Array<number>(M).fill(0);
  let running = 0;
  let runningLoad = 0;
  for (let j = 0; j < 2 * M; j++) {
    running += delta[j] as number;
    runningLoad += load[j] as number;
    (perMember[j % M] as number) += running;
    (loadPerMember[j % M] as number) += runningLoad;
  }
  const weightedLoadPerMember = new Array<number>(M).fill(0);
  for (let i = 0; i < C; i++) {
    for (const [j, share] of windowShares(M, C, i, minAperture))
      (weightedLoadPerMember[j] as number) += share;
  }
  return { width: units / ring, perCaller, perMember, loadPerMember, weightedLoadPerMember };
}

/** Mean, min and max of some counts. */
export interface Spread3 {
  mean: number;
  min: number;
  max: number;
}

export function spread3(values: number[]): Spread3 {
  const total = values.reduce((a, b) => a + b, 0);
  return {
    mean: values.length ? total / values.length : Number.NaN,
    min: values.length ? values.reduce((a, b) => Math.min(a, b)) : Number.NaN,
    max: values.length ? values.reduce((a, b) => Math.max(a, b)) : Number.NaN,
  };
}
