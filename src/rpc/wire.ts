/**
 * RPC frames. Headers are plain binary so a request is routed without running the codec; only
 * arguments, results and errors are MessagePack.
 *
 * ```
 * CALL   [len u32][0x10][id u32][timeoutMs u32][modLen u8][module][fnLen u8][function][args]
 * CAST   [len u32][0x11][modLen u8][module][fnLen u8][function][args]
 * OK     [len u32][0x12][id u32][result]
 * ERROR  [len u32][0x13][id u32][wire error]
 * CANCEL [len u32][0x14][id u32]
 * ```
 */
import { MessageType } from '../transport/message-types.js';
import { encodeValue, MAX_HEADROOM } from './codec.js';

/** Bodies above this size are sent next to their header instead of being copied into one buffer. */
const COPY_BODY_LIMIT = 8 * 1024;

/** The longest module or function name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 255;

/** A large frame: its header and its body, sent side by side without copying the body. */
export interface SplitFrame {
  readonly header: Buffer;
  readonly body: Buffer;
}

/** A frame ready for the writer: one buffer (no wrapper object on the hot path), or a {@link SplitFrame}. */
export type OutgoingFrame = Buffer | SplitFrame;

/** The whole frame as one buffer (copies a split frame; for tests and tools). */
export function frameBytes(frame: OutgoingFrame): Buffer {
  return frame instanceof Uint8Array ? frame : Buffer.concat([frame.header, frame.body]);
}

/** A parsed CALL or CAST header. */
export interface RequestHeader {
  readonly id: number;
  readonly timeoutMs: number;
  readonly module: string;
  readonly fn: string;
  /** Offset of the encoded arguments in the frame. */
  readonly argsOffset: number;
}

function assemble(headerBytes: number, body: Buffer, fill: (buf: Buffer) => void): OutgoingFrame {
  const total = headerBytes + body.length;
  if (body.length <= COPY_BODY_LIMIT) {
    const single = Buffer.allocUnsafe(total);
    fill(single);
    single.writeUInt32BE(total - 4, 0);
    body.copy(single, headerBytes);
    return single;
  }
  const header = Buffer.allocUnsafe(headerBytes);
  fill(header);
  header.writeUInt32BE(total - 4, 0);
  return { header, body };
}

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

/** Bytes before the names: length prefix, type, and for a CALL the id and timeout. */
function requestFixedBytes(id: number): number {
  return id > 0 ? 13 : 5;
}

/** Writes a request's header after the length prefix: type, id and timeout (CALL), names. */
function fillRequestHeader(buf: Buffer, id: number, timeoutMs: number, names: Buffer): void {
  const fixed = requestFixedBytes(id);
  if (id > 0) {
    buf[4] = MessageType.Call;
    buf.writeUInt32BE(id, 5);
    buf.writeUInt32BE(timeoutMs, 9);
  } else {
    buf[4] = MessageType.Cast;
  }
  buf.set(names, fixed);
}

/**
 * Encodes a CALL (`id` > 0) or a CAST (`id` = 0) of `args`, with `names` from
 * {@link encodeNames}. The arguments are encoded straight behind room left for the header, so
 * the frame is one buffer that is neither allocated apart nor copied (names up to about 240
 * bytes together; longer ones take {@link encodeRequest}'s path). Throws what the codec throws.
 */
export function encodeRequestValue(
  id: number,
  timeoutMs: number,
  names: Buffer,
  args: unknown,
): OutgoingFrame {
  const headroom = requestFixedBytes(id) + names.length;
  if (headroom > MAX_HEADROOM) return encodeRequest(id, timeoutMs, names, encodeValue(args));
  const frame = encodeValue(args, headroom);
  frame.writeUInt32BE(frame.length - 4, 0);
  fillRequestHeader(frame, id, timeoutMs, names);
  return frame;
}

/** Encodes a CALL (`id` > 0) or a CAST (`id` = 0) around arguments that are already encoded. */
export function encodeRequest(
  id: number,
  timeoutMs: number,
  names: Buffer,
  args: Buffer,
): OutgoingFrame {
  const headerBytes = requestFixedBytes(id) + names.length;
  return assemble(headerBytes, args, (buf) => {
    fillRequestHeader(buf, id, timeoutMs, names);
  });
}

/** A request's module and function names, decoded. */
interface DecodedNames {
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

function decodeNames(frame: Buffer, start: number, end: number): DecodedNames {
  const moduleEnd = start + 1 + (frame[start] as number);
  return {
    bytes: Buffer.from(frame.subarray(start, end)),
    module: frame.toString('utf8', start + 1, moduleEnd),
    fn: frame.toString('utf8', moduleEnd + 1, end),
  };
}

/**
 * Parses a CALL or CAST header; `null` for a malformed one. With `names`, names seen before are
 * not decoded again.
 */
export function decodeRequest(frame: Buffer, names?: NamesTable): RequestHeader | null {
  const isCall = frame[0] === MessageType.Call;
  const start = isCall ? 9 : 1;
  if (frame.length < start + 2) return null;
  const fnAt = start + 1 + (frame[start] as number);
  if (frame.length < fnAt + 1) return null;
  const end = fnAt + 1 + (frame[fnAt] as number);
  if (frame.length < end) return null;
  const decoded = names ? names.decode(frame, start, end) : decodeNames(frame, start, end);
  return {
    id: isCall ? frame.readUInt32BE(1) : 0,
    timeoutMs: isCall ? frame.readUInt32BE(5) : 0,
    module: decoded.module,
    fn: decoded.fn,
    argsOffset: end,
  };
}

/** Bytes of a reply header: length prefix, type, id. */
const REPLY_HEADER_BYTES = 9;

/**
 * Encodes an OK or ERROR reply around a body that is already encoded (tests and tools; the
 * server uses {@link encodeReplyValue}, which needs no copy).
 */
export function encodeReply(type: number, id: number, body: Buffer): OutgoingFrame {
  return assemble(REPLY_HEADER_BYTES, body, (buf) => {
    buf[4] = type;
    buf.writeUInt32BE(id, 5);
  });
}

/**
 * Encodes an OK or ERROR reply carrying `value`, encoded straight behind room left for the
 * header: one buffer, nothing copied. Throws what the codec throws.
 */
export function encodeReplyValue(type: number, id: number, value: unknown): Buffer {
  const frame = encodeValue(value, REPLY_HEADER_BYTES);
  frame.writeUInt32BE(frame.length - 4, 0);
  frame[4] = type;
  frame.writeUInt32BE(id, 5);
  return frame;
}

/** Encodes a CANCEL for request `id`. */
export function encodeCancel(id: number): Buffer {
  const buf = Buffer.allocUnsafe(9);
  buf.writeUInt32BE(5, 0);
  buf[4] = MessageType.Cancel;
  buf.writeUInt32BE(id, 5);
  return buf;
}

/** The request id of a reply or cancel frame, or -1 when the frame is too short. */
export function frameId(frame: Buffer): number {
  return frame.length >= 5 ? frame.readUInt32BE(1) : -1;
}
