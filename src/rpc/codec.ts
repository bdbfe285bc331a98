/**
 * The value codec: MessagePack via msgpackr, configured so that every value the contract lists
 * round-trips exactly (JSON values, `undefined`, `Date`, `Map`, `Set`, `BigInt` of any size,
 * `Uint8Array`/`Buffer`, nested in any mix), and so that values with no faithful encoding
 * (functions, symbols) throw instead of silently turning into `undefined`.
 *
 * Two flavours share those options (docs/explanation/codec.md):
 * - {@link encodeValue} / {@link decodeValue}: every message decodes on its own. Used for
 *   control messages, local calls, and calls on protocol-1 connections.
 * - {@link StreamCodec}: one per connection and direction on protocol 2. An object shape
 *   (msgpackr "record structure") is described the first time it crosses the connection and
 *   referred to by a one-byte id afterwards, so repeated shapes cost neither bytes nor a
 *   compiled reader per message. The price is order: the receiver must decode every message,
 *   in the order sent, and the sender must send every message it encoded (or call
 *   {@link StreamCodec.discardEncoder}).
 *
 * Why these options:
 * - `useRecords: true` + `mapsAsObjects: false`: plain objects travel as msgpackr records and
 *   MessagePack maps decode as `Map`, so a `Map` stays a `Map` and an object stays an object.
 * - `int64AsType: 'bigint'` + `useBigIntExtension`: a BigInt comes back as a BigInt at any size;
 *   plain numbers are never encoded as int64 by msgpackr, so they stay numbers.
 * - `moreTypes: true`: `Set` and typed arrays.
 */
import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';

class UnencodableValueError extends TypeError {}

function refuseFunction(): never {
  throw new UnencodableValueError('a function cannot be encoded');
}

/** A fresh options object each time: msgpackr keeps state on the object it is given. */
function codecOptions(sequential: boolean) {
  return {
    useRecords: true,
    mapsAsObjects: false,
    int64AsType: 'bigint' as const,
    useBigIntExtension: true,
    moreTypes: true,
    sequential,
    writeFunction: refuseFunction,
  };
}

const packr = new Packr(codecOptions(false));

/** The most room {@link encodeValue} can leave in front of a value (msgpackr's limit). */
export const MAX_HEADROOM = 255;

function pack(encoder: Packr, value: unknown, headroom: number): Buffer {
  try {
    return headroom === 0
      ? encoder.pack(value)
      : encoder.pack(value, RESERVE_START_SPACE | headroom);
  } catch (err) {
    if (err instanceof TypeError) throw err;
    // msgpackr reports some unencodable values (a symbol) with a plain Error.
    throw new UnencodableValueError(`value cannot be encoded: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Encodes a value. Throws a `TypeError` for values with no faithful encoding.
 *
 * With `headroom` (at most {@link MAX_HEADROOM}), the returned buffer starts with that many
 * bytes left for the caller to fill, followed by the value: a frame header can be written in
 * front of the value without allocating or copying anything (msgpackr's `RESERVE_START_SPACE`).
 */
export function encodeValue(value: unknown, headroom = 0): Buffer {
  return pack(packr, value, headroom);
}

/** Decodes a value produced by {@link encodeValue}. Throws on malformed input. */
export function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

/** Reused for every ranged decode: `unpack` runs synchronously and this module never nests it. */
const range = { start: 0, end: 0 };

/**
 * Decodes the value that fills `bytes` from `start` to `end` (default: its end), without
 * creating a view of that range first (one object less per message on the hot path).
 */
export function decodeValueAt(bytes: Uint8Array, start: number, end = bytes.length): unknown {
  range.start = start;
  range.end = end;
  return packr.unpack(bytes, range);
}

/** How the RPC layer encodes and decodes the values of one connection. */
export interface ValueCodec {
  /** `true` when every message received must be decoded, in order (see {@link StreamCodec}). */
  readonly ordered: boolean;
  /** Encodes `value` behind `headroom` free bytes; throws a `TypeError` when it cannot. */
  encode(value: unknown, headroom: number): Buffer;
  /** Decodes `bytes[start, end)`; throws on malformed input. */
  decode(bytes: Uint8Array, start: number, end: number): unknown;
  /** A message this codec encoded will not be sent after all. */
  discardEncoder(): void;
}

/** The stateless codec: each message decodes on its own (protocol 1, control messages). */
export const MESSAGE_CODEC: ValueCodec = Object.freeze({
  ordered: false,
  encode: encodeValue,
  decode: decodeValueAt,
  discardEncoder() {},
});

/**
 * The codec of one protocol-2 connection: record structures are described once per
 * connection and direction (msgpackr's `sequential` mode), so a repeated object shape is sent
 * as a one-byte id and decoded by a reader compiled once.
 *
 * The two ends stay in step because a TCP connection delivers in order, the writer sends
 * frames in the order they were encoded, and the receiver decodes every message in arrival
 * order. A message that was encoded but not sent (over the size limit, or an encoding error
 * half-way) would leave the receiver without the shapes it described, so the encoder is then
 * replaced by a fresh one, which describes every shape again before first use. A message that
 * fails to decode leaves the decoder's table uncertain: the caller must close the connection.
 */
export class StreamCodec implements ValueCodec {
  readonly ordered = true;
  #encoder = new Packr(codecOptions(true));
  readonly #decoder = new Unpackr(codecOptions(true));
  readonly #range = { start: 0, end: 0 };

  encode(value: unknown, headroom: number): Buffer {
    try {
      return pack(this.#encoder, value, headroom);
    } catch (err) {
      this.discardEncoder();
      throw err;
    }
  }

  decode(bytes: Uint8Array, start: number, end: number): unknown {
    const r = this.#range;
    r.start = start;
    r.end = end;
    return this.#decoder.unpack(bytes, r);
  }

  discardEncoder(): void {
    this.#encoder = new Packr(codecOptions(true));
  }
}
