/**
 * The 32-bit hash behind {@link HashRing}: FNV-1a over the key's UTF-8 bytes, finished with
 * murmur3's `fmix32` avalanche.
 *
 * Why this one: it must give the same answer on every process of a cluster (so no seeded or
 * per-process hash), it must be fast on short keys (it runs on every pick), and it must spread
 * near-identical labels such as `node#1`, `node#2` evenly over the ring. Plain FNV-1a is fast and
 * portable but clusters on such labels; the `fmix32` finaliser fixes that for two extra
 * multiplications. It is not a cryptographic hash and does not need to be.
 *
 * Strings are hashed as their UTF-8 encoding (lone surrogates as U+FFFD, as `TextEncoder` does),
 * without materialising the bytes, so a string key and the same text as a `Uint8Array` land on
 * the same node. Numbers hash as their `String(n)` form.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3's finaliser: every input bit affects every output bit. */
function fmix32(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes raw bytes. */
export function hashBytes(bytes: Uint8Array): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME);
  return fmix32(h);
}

/** FNV-1a step over one Unicode code point's UTF-8 bytes. */
function mixCodePoint(h0: number, cp: number): number {
  let h = h0;
  if (cp < 0x80) return Math.imul(h ^ cp, FNV_PRIME);
  if (cp < 0x800) {
    h = Math.imul(h ^ (0xc0 | (cp >>> 6)), FNV_PRIME);
  } else {
    if (cp < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (cp >>> 12)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (cp >>> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((cp >>> 12) & 0x3f)), FNV_PRIME);
    }
    h = Math.imul(h ^ (0x80 | ((cp >>> 6) & 0x3f)), FNV_PRIME);
  }
  return Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
}

/** Hashes a string as its UTF-8 bytes, allocation-free. */
export function hashString(s: string): number {
  let h = FNV_OFFSET;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let cp = s.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd; // a lone surrogate encodes as U+FFFD, as TextEncoder does
      }
    }
    h = mixCodePoint(h, cp);
  }
  return fmix32(h);
}

/**
 * Hashes a number as `hashString(String(n))`. Safe integers (the common case: ids, shard
 * numbers) are hashed digit by digit so the hot path allocates nothing.
 */
export function hashNumber(n: number): number {
  if (!Number.isSafeInteger(n)) return hashString(String(n));
  let h = FNV_OFFSET;
  let rest = n;
  if (rest < 0) {
    h = Math.imul(h ^ 0x2d, FNV_PRIME); // '-'
    rest = -rest;
  }
  let div = 1;
  while (div * 10 <= rest) div *= 10;
  for (; div >= 1; div /= 10) {
    const digit = Math.floor(rest / div);
    h = Math.imul(h ^ (0x30 + digit), FNV_PRIME);
    rest -= digit * div;
  }
  return fmix32(h);
}

/** The routing keys {@link HashRing} accepts. */
export type HashKey = string | number | Uint8Array;

/**
 * Hashes a routing key to an unsigned 32-bit integer, the same on every process.
 *
 * @throws TypeError when `key` is not a string, a number or a `Uint8Array`.
 */
export function hashKey(key: HashKey): number {
  if (typeof key === 'string') return hashString(key);
  if (typeof key === 'number') return hashNumber(key);
  if (key instanceof Uint8Array) return hashBytes(key);
  throw new TypeError(
    `key must be a string, a number or a Uint8Array, got ${key === null ? 'null' : typeof key}`,
  );
}
