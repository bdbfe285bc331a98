/**
 * The value codec: MessagePack via msgpackr, configured so that every value the contract lists
 * round-trips exactly (JSON values, `undefined`, `Date`, `Map`, `Set`, `BigInt` of any size,
 * `Uint8Array`/`Buffer`, nested in any mix), and so that values with no faithful encoding
 * (functions, symbols) throw instead of silently turning into `undefined`.
 *
 * Why these options (measured in docs/explanation/codec.md):
 * - `useRecords: true` + `mapsAsObjects: false`: plain objects travel as msgpackr records and
 *   MessagePack maps decode as `Map`, so a `Map` stays a `Map` and an object stays an object.
 *   No shared structures are kept between messages, so every message decodes on its own.
 * - `int64AsType: 'bigint'` + `useBigIntExtension`: a BigInt comes back as a BigInt at any size;
 *   plain numbers are never encoded as int64 by msgpackr, so they stay numbers.
 * - `moreTypes: true`: `Set` and typed arrays.
 */
import { Packr, RESERVE_START_SPACE } from 'msgpackr';

class UnencodableValueError extends TypeError {}

const packr = new Packr({
  useRecords: true,
  mapsAsObjects: false,
  int64AsType: 'bigint',
  useBigIntExtension: true,
  moreTypes: true,
  writeFunction: () => {
    throw new UnencodableValueError('a function cannot be encoded');
  },
});

/** The most room {@link encodeValue} can leave in front of a value (msgpackr's limit). */
export const MAX_HEADROOM = 255;

/**
 * Encodes a value. Throws a `TypeError` for values with no faithful encoding.
 *
 * With `headroom` (at most {@link MAX_HEADROOM}), the returned buffer starts with that many
 * bytes left for the caller to fill, followed by the value: a frame header can be written in
 * front of the value without allocating or copying anything (msgpackr's `RESERVE_START_SPACE`).
 */
export function encodeValue(value: unknown, headroom = 0): Buffer {
  try {
    return headroom === 0 ? packr.pack(value) : packr.pack(value, RESERVE_START_SPACE | headroom);
  } catch (err) {
    if (err instanceof TypeError) throw err;
    // msgpackr reports some unencodable values (a symbol) with a plain Error.
    throw new UnencodableValueError(`value cannot be encoded: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Decodes a value produced by {@link encodeValue}. Throws on malformed input. */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Reused for every offset decode: `unpack` runs synchronously and this module never nests it. */
const range = { start: 0, end: 0 };

/**
 * Decodes the value that fills `bytes` from `start` to its end, without creating a view of that
 * range first (one object less per message on the hot path).
 */
export function decodeValueAt(bytes: Uint8Array, start: number): unknown {
  range.start = start;
  range.end = bytes.length;
  return packr.unpack(bytes, range);
}
