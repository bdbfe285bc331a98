/**
 * The codecs of the two floors: the project codec (msgpackr with records, Map/Set/BigInt
 * extensions; what the contract requires), and msgpackr's plain `pack`/`unpack` (objects as
 * MessagePack maps decoded as plain objects; loses Set, BigInt beyond 64 bits, Map vs object).
 */
import { pack, unpack } from 'msgpackr';
import { decodeValue, encodeValue } from '../../src/rpc/codec.js';

export interface FloorCodec {
  encode(value: unknown): Buffer;
  decode(bytes: Buffer): unknown;
}

export const PROJECT_CODEC: FloorCodec = { encode: encodeValue, decode: decodeValue };

export const PLAIN_CODEC: FloorCodec = {
  encode: (value) => pack(value),
  decode: (bytes) => unpack(bytes),
};
