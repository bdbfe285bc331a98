/** Options of deterministic subsetting (`startLoadBalancer({ subset })`), validated once. */

import { findUnknownOption, optionNames } from '../option-names.js';
import { optionError } from '../options.js';

/** Options of deterministic subsetting. */
export interface SubsetOptions {
  /**
   * The fewest members a caller selects from (while there are that many). A caller's window is
   * `max(minAperture, members / callers)` members wide, plus the one its edge may cut: with 12,
   * 90 members and 10 callers each caller talks to 12 of them. Every caller of a balancer must
   * use the same value, or the members' shares are no longer equal.
   * @default 12
   */
  minAperture?: number;
}

/** {@link SubsetOptions} with the default applied. */
export interface ResolvedSubset {
  readonly minAperture: number;
}

/** Default of {@link SubsetOptions.minAperture} (Finagle's default aperture is 12 too). */
export const DEFAULT_MIN_APERTURE = 12;
/** Upper bound of {@link SubsetOptions.minAperture}. */
export const MAX_MIN_APERTURE = 1_000_000;

const SUBSET_OPTION_NAMES = optionNames({
  minAperture: true,
} satisfies Record<keyof SubsetOptions, true>);

/**
 * The group in which a balancer with subsetting registers its node as a caller, so callers can
 * number themselves: `$rpclb.callers:<balancer>` (the `$rpclb` prefix is the library's own, as
 * for its system module). A node joins it whether or not it joins the balancer's own group, and
 * leaves it when the balancer stops.
 *
 * @example
 * ```ts
 * node.groups.members(callersGroup('workers')); // the nodes selecting from a subset of 'workers'
 * ```
 */
export function callersGroup(balancer: string): string {
  return `$rpclb.callers:${balancer}`;
}

/** `subset` checked: `false` when off, else the options with their defaults. */
export function resolveSubset(input: unknown): ResolvedSubset | false {
  if (input === undefined || input === false) return false;
  if (input === true) return Object.freeze({ minAperture: DEFAULT_MIN_APERTURE });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw optionError('subset', 'a boolean or an object like { minAperture: 12 }', input);
  }
  const unknown = findUnknownOption(input, SUBSET_OPTION_NAMES);
  if (unknown) throw new TypeError(`option "subset": ${unknown.message}`);
  const minAperture = (input as SubsetOptions).minAperture ?? DEFAULT_MIN_APERTURE;
  if (!Number.isInteger(minAperture) || minAperture < 1 || minAperture > MAX_MIN_APERTURE) {
    throw optionError(
      'subset.minAperture',
      `an integer from 1 to ${MAX_MIN_APERTURE}`,
      minAperture,
    );
  }
  return Object.freeze({ minAperture });
}
