/**
 * Module and function names as requests carry them, `[modLen u8][module][fnLen u8][function]`:
 * what a valid name is, its encoding, and the two caches that keep strings off the per-call
 * path: the client's encoded names (`NamesCache`) and the server's decoded ones (`NamesTable`).
 * Both are bounded, so a peer or caller inventing names cannot grow them. Apart from wire.ts,
 * which lays out the rest of a frame around these bytes.
 */

/** The longest module or function name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

/**
 * The UTF-8 length of a module or function name, or -1 when it is not a valid one (not a string,
 * empty, longer than {@link MAX_NAME_BYTES} bytes).
 */
export function nameBytes(name: unknown): number {
  if (typeof name !== 'string' || name.length === 0) return -1;
  const bytes = Buffer.byteLength(name);
  return bytes > MAX_NAME_BYTES ? -1 : bytes;
}

/**
 * The names part of a request, `[modLen u8][module][fnLen u8][function]`, or `null` when either
 * name is invalid (see {@link nameBytes}).
 */
export function encodeNames(module: unknown, fn: unknown): Buffer | null {
  const moduleBytes = nameBytes(module);
  const fnBytes = nameBytes(fn);
  if (moduleBytes < 0 || fnBytes < 0) return null;
  const names = Buffer.allocUnsafe(2 + moduleBytes + fnBytes);
  names[0] = moduleBytes;
  names.write(module as string, 1, 'utf8');
  names[1 + moduleBytes] = fnBytes;
  names.write(fn as string, 2 + moduleBytes, 'utf8');
  return names;
}

/** Distinct module/function pairs a {@link NamesCache} keeps; further pairs are encoded per call. */
const MAX_CACHED_NAMES = 4_096;

/**
 * The encoded names of the functions a client calls, so a repeated call writes no strings: two
 * `Map` lookups instead of two UTF-8 length counts and two UTF-8 writes (about 160 ns a call).
 * Bounded, so a caller inventing names cannot grow it without limit.
 */
export class NamesCache {
  readonly #byModule = new Map<string, Map<string, Buffer>>();
  #size = 0;

  /** The encoded names (see {@link encodeNames}), or `null` when either name is invalid. */
  get(module: unknown, fn: unknown): Buffer | null {
    const cached = this.#byModule.get(module as string)?.get(fn as string);
    if (cached !== undefined) return cached;
    const names = encodeNames(module, fn);
    if (names === null || this.#size >= MAX_CACHED_NAMES) return names;
    let fns = this.#byModule.get(module as string);
    if (fns === undefined) this.#byModule.set(module as string, (fns = new Map()));
    fns.set(fn as string, names);
    this.#size++;
    return names;
  }
}

/** A request's module and function names, decoded. */
export interface DecodedNames {
  /** The names' bytes as they came (`[modLen][module][fnLen][function]`). */
  readonly bytes: Buffer;
  readonly module: string;
  readonly fn: string;
}

/** Slots of a {@link NamesTable}; a power of two. */
const NAME_SLOTS = 256;

/**
 * Recently received request names, found again by their bytes: a request for a function seen
 * before decodes no strings (two UTF-8 decodes and two new strings per request cost about 130 ns
 * and garbage). A direct-mapped table keyed by a hash of the bytes, compared byte for byte on a
 * hit, so a peer sending ever new names only evicts entries: the table never grows.
 */
export class NamesTable {
  readonly #slots: (DecodedNames | undefined)[] = new Array(NAME_SLOTS).fill(undefined);

  /** The names in `frame[start, end)`, whose bounds the caller has checked. */
  decode(frame: Buffer, start: number, end: number): DecodedNames {
    // FNV-1a over the bytes
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ (frame[i] as number), 0x01000193);
    const slot = (hash ^ (hash >>> 16)) & (NAME_SLOTS - 1);
    const known = this.#slots[slot];
    if (known !== undefined && sameBytes(known.bytes, frame, start, end)) return known;
    const decoded = decodeNames(frame, start, end);
    this.#slots[slot] = decoded;
    return decoded;
  }
}

function sameBytes(bytes: Buffer, frame: Buffer, start: number, end: number): boolean {
  if (bytes.length !== end - start) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== frame[start + i]) return false;
  return true;
}

export function decodeNames(frame: Buffer, start: number, end: number): DecodedNames {
  const moduleEnd = start + 1 + (frame[start] as number);
  return {
    bytes: Buffer.from(frame.subarray(start, end)),
    module: frame.toString('utf8', start + 1, moduleEnd),
    fn: frame.toString('utf8', moduleEnd + 1, end),
  };
}
