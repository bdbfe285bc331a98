import { hashKey, hashString } from './hash.js';
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
  readonly #random: () => number;
  readonly #weight: number;
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
  }

  /** Returns the owner of `opts.key`, or a random member without a key. */
  chooseFromNodes(nodes: readonly string[], opts?: SelectOptions): string {
    const key = opts?.key;
    if (key === undefined || key === null) {
      return nodes[Math.floor(this.#random() * nodes.length)];
    }
    if (nodes !== this.#ringFor) this.#build(nodes);
    return nodes[this.#owners[this.#locate(hashKey(key))]];
  }

  /**
   * Returns up to `count` distinct members: the owner of `opts.key` first, then the next
   * distinct members clockwise. Without a key, random distinct members.
   */
  chooseNodes(nodes: readonly string[], count: number, opts?: SelectOptions): string[] {
    const key = opts?.key;
    if (key === undefined || key === null) return sampleDistinct(nodes, count, this.#random);
    const want = Math.min(Math.floor(count), nodes.length);
    if (!(want > 0)) return [];
    if (nodes !== this.#ringFor) this.#build(nodes);
    return this.#walk(nodes, this.#locate(hashKey(key)), want);
  }

  /** Collects `want` distinct owners clockwise from ring index `from`. */
  #walk(nodes: readonly string[], from: number, want: number): string[] {
    const stamp = this.#nextStamp();
    const points = this.#points.length;
    const out: string[] = [];
    for (let step = 0; step < points && out.length < want; step++) {
      const at = from + step < points ? from + step : from + step - points;
      const owner = this.#owners[at];
      if (this.#seen[owner] !== stamp) {
        this.#seen[owner] = stamp;
        out.push(nodes[owner]);
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
