import { hashKey, hashString } from './hash.js';
import { InFlightCounters } from './in-flight-counters.js';
import { sampleDistinct } from './sampling.js';
import type { AlgorithmContext, SelectionAlgorithm, SelectOptions } from './types.js';
import { requirePositiveInteger } from './validate.js';

/** Options of {@link HashRing}. */
export interface HashRingOptions {
  /**
   * Virtual nodes per member. More spread the keys more evenly (the load of the busiest member
   * over the mean shrinks roughly as 1/sqrt(weight)) at the cost of a bigger ring to build and
   * search.
   * @default 128
   */
  weight?: number;
  /**
   * Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam): no member may
   * have more than `ceil(balanceFactor × (calls in flight + 1) / members)` of this balancer's
   * calls in flight; a key whose owner is at that cap goes to the next member along the ring
   * that is under it. `1.25` (ε = 0.25) caps every member at 125 % of the average. Absent: no
   * bound, and no counting.
   * @default undefined (unbounded)
   */
  balanceFactor?: number;
}

/** Default {@link HashRingOptions.weight}. */
export const DEFAULT_HASH_RING_WEIGHT = 128;
/**
 * Upper bound of {@link HashRingOptions.weight}. The ring holds members × weight entries at some
 * 16 bytes each while it is built, so 1 000 members at this maximum already take ~64 MiB.
 */
export const MAX_HASH_RING_WEIGHT = 4_096;

/**
 * Positions and owners are sorted together as one float: `position * OWNER_SPACE + owner`, which
 * is exact below 2^53 and lets a native numeric typed-array sort do the work. Ties between equal
 * positions fall to the lower owner index, the same on every process.
 */
const OWNER_SPACE = 2 ** 21;
/** At most 2^20 buckets (4 MiB) in the lookup index, i.e. about one per virtual node. */
const MAX_BUCKET_BITS = 20;

/**
 * Consistent hashing: the same key goes to the same member on every process, and a membership
 * change only moves the keys of the members concerned (about 1/(n+1) of them when one member
 * joins n).
 *
 * - **Ring.** Each member owns `weight` virtual nodes at positions `hash("<node>#<i>")` (see
 *   {@link hashKey}: FNV-1a + murmur3 finaliser, identical on every process). Positions live in
 *   a sorted `Uint32Array` with a parallel owner array; a key belongs to the first virtual node at
 *   or after its hash (wrapping around), found by binary search within a bucket index on the
 *   hash's top bits (about one virtual node per bucket).
 * - **Rebuild rule.** The ring is cached by the identity of the member array it was built from
 *   and rebuilt whenever it is asked to choose from a different array, so it can never return a
 *   member that has left.
 * - **Replicas.** {@link HashRing.chooseNodes} returns the key's owner first, then the next
 *   distinct members clockwise, the usual replica placement; more than the member count returns
 *   every member.
 * - **No key** falls back to a uniform random member (or random distinct members).
 *
 * - **Bounded load** (`balanceFactor`): picks are counted (release them, as with least
 *   connections) and a key's owner at the cap passes the key clockwise to the first member under
 *   it; while the owner is under the cap, the same key still goes to the same member.
 *
 * Keys are strings (hashed as UTF-8), numbers (hashed as `String(n)`) or `Uint8Array`s (their
 * bytes), so `'user-42'` and the same text as bytes route alike.
 *
 * Cost: O(key length) per pick (expected; the bucket holds about one virtual node);
 * O(n * weight * log(n * weight)) once per membership change.
 *
 * @example
 * ```ts
 * const lb = await node.startLoadBalancer({
 *   name: 'sessions',
 *   selectionAlgorithm: algorithms.HashRing,
 *   algorithmOpts: { weight: 256 },
 * });
 * await lb.call('Sessions', 'get', [userId], { key: userId });  // same member for the same user
 * lb.selectNodes(3, { key: userId });                           // owner + 2 replicas
 * ```
 */
export class HashRing implements SelectionAlgorithm {
  /** Skips `opts.exclude` itself: the key moves to its next replica, the ring is not rebuilt. */
  readonly honoursExclude = true;
  readonly #random: () => number;
  readonly #weight: number;
  /** `balanceFactor`, or 0 when loads are not bounded */
  readonly #balanceFactor: number;
  /** in-flight counts, kept only with a bound */
  readonly #counters = new InFlightCounters({ ranked: false });
  #total = 0;
  #ringFor: readonly string[] | undefined;
  #points = new Uint32Array(0);
  #owners = new Uint32Array(0);
  #buckets = new Uint32Array(2);
  #shift = 31;
  /** per-member stamp, so `chooseNodes` can mark members seen without allocating a set */
  #seen = new Uint32Array(0);
  #stamp = 0;

  /**
   * @param ctx - the balancer's context; `ctx.options.weight` sets the virtual nodes per member,
   *   `ctx.random` serves keyless picks.
   * @throws TypeError when `weight` is not a positive integer up to {@link MAX_HASH_RING_WEIGHT}.
   */
  constructor(ctx: AlgorithmContext<HashRingOptions>) {
    this.#random = ctx.random;
    const weight = ctx.options?.weight;
    this.#weight =
      weight === undefined
        ? DEFAULT_HASH_RING_WEIGHT
        : requirePositiveInteger('weight', weight, MAX_HASH_RING_WEIGHT);
    const factor = ctx.options?.balanceFactor;
    if (factor !== undefined && !(typeof factor === 'number' && factor > 1 && factor < Infinity)) {
      throw new TypeError(
        `balanceFactor must be a finite number > 1 (1 + ε), got ${typeof factor === 'number' ? factor : typeof factor}`,
      );
    }
    this.#balanceFactor = factor ?? 0;
  }

  /**
   * Returns the owner of `opts.key` (or, with `balanceFactor`, the first member at or after it
   * under the cap), or a random member without a key.
   */
  chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    const key = opts?.key;
    const exclude = opts?.exclude;
    if (exclude !== undefined && exclude.length > 0)
      return this.#chooseExcluding(nodes, key, exclude);
    if (this.#balanceFactor !== 0) return this.#chooseBounded(nodes, key);
    if (key === undefined || key === null) {
      return nodes[Math.floor(this.#random() * nodes.length)];
    }
    if (nodes !== this.#ringFor) this.#build(nodes);
    return nodes[this.#owners[this.#locate(hashKey(key))]];
  }

  /** With `balanceFactor`: counts a selection of `node` finished. Ignored otherwise. */
  releaseNode(node: string): void {
    if (this.#counters.release(node)) this.#total--;
  }

  /** Selections of `node` in flight (counted only with `balanceFactor`). */
  inFlight(node: string): number {
    return this.#counters.inFlight(node);
  }

  /**
   * The bounded pick: walks clockwise from the key's virtual node to the first whose owner is
   * under the cap. Some member always is (the cap times the member count exceeds the calls in
   * flight), so the walk ends; it is usually one step.
   */
  #chooseBounded(nodes: readonly string[], key: SelectOptions['key']): string {
    if (nodes !== this.#ringFor) this.#build(nodes);
    const counters = this.#counters;
    let owner: number;
    if (key === undefined || key === null) {
      owner = Math.floor(this.#random() * nodes.length);
    } else {
      const cap = Math.ceil((this.#balanceFactor * (this.#total + 1)) / nodes.length);
      const points = this.#owners.length;
      let at = this.#locate(hashKey(key));
      owner = this.#owners[at];
      for (let step = 1; counters.countAt(owner) >= cap && step < points; step++) {
        at = at + 1 === points ? 0 : at + 1;
        owner = this.#owners[at];
      }
    }
    counters.acquire(owner);
    this.#total++;
    return nodes[owner];
  }

  /**
   * A pick that skips the members in `exclude`: with a key, the first member clockwise from
   * the key that is not excluded (its next replica) and, with `balanceFactor`, under the cap if
   * one is; without a key, a random member not excluded. The balancer makes sure one is left.
   */
  #chooseExcluding(
    nodes: readonly string[],
    key: SelectOptions['key'],
    exclude: readonly string[],
  ): string {
    if (nodes !== this.#ringFor) this.#build(nodes);
    let owner: number;
    if (key === undefined || key === null) {
      const allowed = nodes.filter((node) => !exclude.includes(node));
      if (allowed.length === 0) throw new RangeError('every member is excluded');
      owner = nodes.indexOf(allowed[Math.floor(this.#random() * allowed.length)] as string);
    } else {
      const bounded = this.#balanceFactor !== 0;
      const cap = bounded ? Math.ceil((this.#balanceFactor * (this.#total + 1)) / nodes.length) : 0;
      const owners = this.#owners;
      const start = this.#locate(hashKey(key));
      let first = -1;
      owner = -1;
      for (let step = 0; step < owners.length; step++) {
        const at = start + step < owners.length ? start + step : start + step - owners.length;
        const candidate = owners[at] as number;
        if (exclude.includes(nodes[candidate] as string)) continue;
        if (first === -1) first = candidate;
        if (!bounded || this.#counters.countAt(candidate) < cap) {
          owner = candidate;
          break;
        }
      }
      if (first === -1) throw new RangeError('every member is excluded');
      if (owner === -1) owner = first;
    }
    if (this.#balanceFactor !== 0) {
      this.#counters.acquire(owner);
      this.#total++;
    }
    return nodes[owner] as string;
  }

  /**
   * Returns up to `count` distinct members: the owner of `opts.key` first, then the next
   * distinct members clockwise. Without a key, random distinct members. Replica lists are not
   * selections: they are neither counted nor bounded by `balanceFactor`.
   */
  chooseNodes(nodes: readonly string[], count: number, opts?: SelectOptions): string[] {
    const key = opts?.key;
    const exclude =
      opts?.exclude !== undefined && opts.exclude.length > 0 ? opts.exclude : undefined;
    if (key === undefined || key === null) {
      const pool = exclude === undefined ? nodes : nodes.filter((n) => !exclude.includes(n));
      return sampleDistinct(pool, count, this.#random);
    }
    const want = Math.min(Math.floor(count), nodes.length);
    if (!(want > 0)) return [];
    if (nodes !== this.#ringFor) this.#build(nodes);
    return this.#walk(nodes, this.#locate(hashKey(key)), want, exclude);
  }

  /** Collects `want` distinct owners clockwise from ring index `from`, skipping `exclude`. */
  #walk(
    nodes: readonly string[],
    from: number,
    want: number,
    exclude?: readonly string[],
  ): string[] {
    const stamp = this.#nextStamp();
    const points = this.#points.length;
    const out: string[] = [];
    for (let step = 0; step < points && out.length < want; step++) {
      const at = from + step < points ? from + step : from + step - points;
      const owner = this.#owners[at];
      if (this.#seen[owner] !== stamp) {
        this.#seen[owner] = stamp;
        if (exclude === undefined || !exclude.includes(nodes[owner])) out.push(nodes[owner]);
      }
    }
    return out;
  }

  #nextStamp(): number {
    this.#stamp = (this.#stamp + 1) >>> 0;
    if (this.#stamp === 0) {
      this.#seen.fill(0);
      this.#stamp = 1;
    }
    return this.#stamp;
  }

  /**
   * Index of the first virtual node at or after `hash`, wrapping to 0 past the end. The bucket
   * index narrows the search to the virtual nodes sharing `hash`'s top bits (about one), so a
   * lookup costs a couple of memory reads instead of ~17 unpredictable binary-search branches.
   */
  #locate(hash: number): number {
    const points = this.#points;
    const bucket = hash >>> this.#shift;
    let lo = this.#buckets[bucket];
    let hi = this.#buckets[bucket + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid] < hash) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }

  /** `buckets[b]`: first ring index whose position's top bits are >= b. */
  #indexBuckets(points: Uint32Array): void {
    const bits = Math.min(MAX_BUCKET_BITS, Math.max(1, Math.ceil(Math.log2(points.length + 1))));
    const shift = 32 - bits;
    const buckets = new Uint32Array(2 ** bits + 1);
    let at = 0;
    for (let b = 0; b <= 2 ** bits; b++) {
      while (at < points.length && points[at] >>> shift < b) at++;
      buckets[b] = at;
    }
    this.#buckets = buckets;
    this.#shift = shift;
  }

  #build(nodes: readonly string[]): void {
    const n = nodes.length;
    if (n >= OWNER_SPACE) throw new RangeError(`HashRing supports < ${OWNER_SPACE} members`);
    const weight = this.#weight;
    const packed = new Float64Array(n * weight);
    let k = 0;
    for (let owner = 0; owner < n; owner++) {
      const name = nodes[owner];
      for (let i = 0; i < weight; i++) {
        packed[k++] = hashString(`${name}#${i}`) * OWNER_SPACE + owner;
      }
    }
    packed.sort();
    const points = new Uint32Array(packed.length);
    const owners = new Uint32Array(packed.length);
    for (let i = 0; i < packed.length; i++) {
      const owner = packed[i] % OWNER_SPACE;
      owners[i] = owner;
      points[i] = (packed[i] - owner) / OWNER_SPACE;
    }
    this.#points = points;
    this.#owners = owners;
    this.#indexBuckets(points);
    this.#seen = new Uint32Array(n);
    this.#stamp = 0;
    this.#ringFor = nodes;
    if (this.#balanceFactor !== 0) {
      this.#counters.sync(nodes);
      this.#total = this.#counters.total();
    }
  }

  /**
   * The share of the hash space (0..1) each member of `nodes` owns, i.e. the fraction of
   * uniformly spread keys it receives. For diagnostics and tests; O(n * weight).
   */
  shares(nodes: readonly string[]): Map<string, number> {
    if (nodes !== this.#ringFor) this.#build(nodes);
    const owned = new Float64Array(nodes.length);
    const points = this.#points;
    const last = points.length - 1;
    for (let i = 0; i <= last; i++) {
      // a virtual node owns the arc from the previous virtual node (exclusive) up to itself
      const arc = i === 0 ? points[0] + 2 ** 32 - points[last] : points[i] - points[i - 1];
      owned[this.#owners[i]] += arc;
    }
    const out = new Map<string, number>();
    for (let i = 0; i < nodes.length; i++) out.set(nodes[i], owned[i] / 2 ** 32);
    return out;
  }
}
