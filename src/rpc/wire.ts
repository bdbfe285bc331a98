/**
 * RPC frames. Headers are plain binary so a request is routed without running the codec; only
 * metadata, arguments, results and errors are MessagePack.
 *
 * ```
 * CALL   [len u32][0x10|E][id u32][timeoutMs u32][modLen u8][module][fnLen u8][function](env)[args]
 * CAST   [len u32][0x11|E][modLen u8][module][fnLen u8][function](env)[args]
 * OK     [len u32][0x12|L|E][id u32](load)(env)[result]
 * ERROR  [len u32][0x13|L|E][id u32](load)(env)[wire error]
 * CANCEL [len u32][0x14][id u32]
 * PROBE  [len u32][0x15][id u32]                                   (protocol 2)
 * LOAD   [len u32][0x16][id u32][load]                             (protocol 2)
 *
 * env  = [envLen u16][metadata or trailer map]     present when flag E (0x80) is set
 * load = [inFlight u32][elu u16, in 1/10 000]      present when flag L (0x40) is set
 * ```
 *
 * The flags exist only on protocol-2 connections, and a frame without them is byte for byte
 * a protocol-1 frame: calls that carry nothing extra cost nothing extra on the wire. The order
 * of the MessagePack parts in a frame (envelope, then the value) is the order they are
 * encoded and must be decoded in (see `StreamCodec`). The names part and its caches are in
 * names.ts.
 */
import { MessageType } from '../transport/message-types.js';
import { MAX_HEADROOM, type ValueCodec } from './codec.js';
import { decodeNames, type NamesTable } from './names.js';

/** Flag bits in the type byte of RPC frames (protocol 2). */
export const FrameFlag = Object.freeze({
  /** An envelope (request metadata or reply trailer) follows the header. */
  Envelope: 0x80,
  /** The server's load follows a reply's header. */
  Load: 0x40,
});

/** `true` for the type byte of an RPC frame (any flags). */
export function isRpcFrame(type: number): boolean {
  return (type & 0x30) === 0x10;
}

/** The message type of an RPC frame's type byte, without its flags. */
export function baseType(type: number): number {
  return type & 0x1f;
}

/** Bodies above this size are sent next to their header instead of being copied into one buffer. */
const COPY_BODY_LIMIT = 8 * 1024;

/** The largest encoded envelope (request metadata or reply trailer). */
export const MAX_ENVELOPE_BYTES = 16 * 1024;

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

/** Bytes an outgoing frame puts on the wire, length prefix included. */
export function frameLength(frame: OutgoingFrame): number {
  return frame instanceof Uint8Array ? frame.length : frame.header.length + frame.body.length;
}

/** A server's load as it travels in a reply or a probe answer. */
export interface WireLoad {
  /** Calls the server was serving. */
  readonly inFlight: number;
  /** Event-loop utilisation, 0..1. */
  readonly elu: number;
}

const LOAD_BYTES = 6;

function writeLoad(buf: Buffer, at: number, load: WireLoad): void {
  buf.writeUInt32BE(Math.min(load.inFlight, 0xffffffff) >>> 0, at);
  buf.writeUInt16BE(Math.round(Math.min(1, Math.max(0, load.elu)) * 10_000), at + 4);
}

/** Reads a {@link WireLoad} at `at` (the caller checked the bounds). */
export function readLoad(frame: Buffer, at: number): WireLoad {
  return { inFlight: frame.readUInt32BE(at), elu: frame.readUInt16BE(at + 4) / 10_000 };
}

/**
 * A frame built around a body encoded on its own (a header too long for msgpackr's headroom):
 * `head` is where the caller writes the header (after the length prefix, already written).
 */
function frameAround(headerBytes: number, body: Buffer): { head: Buffer; frame: OutgoingFrame } {
  const total = headerBytes + body.length;
  if (body.length <= COPY_BODY_LIMIT) {
    const single = Buffer.allocUnsafe(total);
    single.writeUInt32BE(total - 4, 0);
    body.copy(single, headerBytes);
    return { head: single, frame: single };
  }
  const header = Buffer.allocUnsafe(headerBytes);
  header.writeUInt32BE(total - 4, 0);
  return { head: header, frame: { header, body } };
}

/**
 * Encodes `value` behind `headerBytes` of room (in place: one buffer, nothing copied) when the
 * header fits msgpackr's headroom; else around it. Returns the frame and where its header goes.
 */
function encodeBehind(
  codec: ValueCodec,
  headerBytes: number,
  value: unknown,
): { head: Buffer; frame: OutgoingFrame } | Buffer {
  if (headerBytes > MAX_HEADROOM) return frameAround(headerBytes, codec.encode(value, 0));
  const frame = codec.encode(value, headerBytes);
  frame.writeUInt32BE(frame.length - 4, 0);
  return frame;
}

/** Bytes before the names: length prefix, type, and for a CALL the id and timeout. */
function requestFixedBytes(id: number): number {
  return id > 0 ? 13 : 5;
}

/**
 * Encodes a CALL (`id` > 0) or a CAST (`id` = 0) of `args`, with `names` from `encodeNames`
 * (names.ts) and `envelope` the request metadata already encoded with the same codec (protocol 2
 * only). Throws what the codec throws.
 */
export function encodeRequest(
  codec: ValueCodec,
  id: number,
  timeoutMs: number,
  names: Buffer,
  args: unknown,
  envelope?: Buffer,
): OutgoingFrame {
  const envAt = requestFixedBytes(id) + names.length;
  const headerBytes = envelope === undefined ? envAt : envAt + 2 + envelope.length;
  const encoded = encodeBehind(codec, headerBytes, args);
  if (encoded instanceof Uint8Array) {
    fillRequest(encoded, id, timeoutMs, names, envelope);
    return encoded;
  }
  fillRequest(encoded.head, id, timeoutMs, names, envelope);
  return encoded.frame;
}

function fillRequest(
  buf: Buffer,
  id: number,
  timeoutMs: number,
  names: Buffer,
  envelope: Buffer | undefined,
): void {
  const flags = envelope === undefined ? 0 : FrameFlag.Envelope;
  const fixed = requestFixedBytes(id);
  if (id > 0) {
    buf[4] = MessageType.Call | flags;
    buf.writeUInt32BE(id, 5);
    buf.writeUInt32BE(timeoutMs, 9);
  } else {
    buf[4] = MessageType.Cast | flags;
  }
  buf.set(names, fixed);
  if (envelope !== undefined) {
    const envAt = fixed + names.length;
    buf.writeUInt16BE(envelope.length, envAt);
    buf.set(envelope, envAt + 2);
  }
}

/** A parsed CALL or CAST header. */
export interface RequestHeader {
  readonly id: number;
  readonly timeoutMs: number;
  readonly module: string;
  readonly fn: string;
  /** Where the encoded metadata starts and ends in the frame (both 0 without an envelope). */
  readonly envelopeStart: number;
  readonly envelopeEnd: number;
  /** Offset of the encoded arguments in the frame. */
  readonly argsOffset: number;
}

/**
 * Parses a CALL or CAST header (`frame` starts at the type byte); `null` for a malformed one.
 * With `names`, names seen before are not decoded again.
 */
export function decodeRequest(frame: Buffer, names?: NamesTable): RequestHeader | null {
  const type = frame[0] as number;
  const isCall = baseType(type) === MessageType.Call;
  const start = isCall ? 9 : 1;
  if (frame.length < start + 2) return null;
  const fnAt = start + 1 + (frame[start] as number);
  if (frame.length < fnAt + 1) return null;
  const end = fnAt + 1 + (frame[fnAt] as number);
  if (frame.length < end) return null;
  let envelopeStart = 0;
  let envelopeEnd = 0;
  let argsOffset = end;
  if ((type & FrameFlag.Envelope) !== 0) {
    if (frame.length < end + 2) return null;
    envelopeStart = end + 2;
    envelopeEnd = envelopeStart + frame.readUInt16BE(end);
    if (frame.length < envelopeEnd) return null;
    argsOffset = envelopeEnd;
  }
  const decoded = names ? names.decode(frame, start, end) : decodeNames(frame, start, end);
  return {
    id: isCall ? frame.readUInt32BE(1) : 0,
    timeoutMs: isCall ? frame.readUInt32BE(5) : 0,
    module: decoded.module,
    fn: decoded.fn,
    envelopeStart,
    envelopeEnd,
    argsOffset,
  };
}

/** Bytes of a reply header: length prefix, type, id. */
const REPLY_HEADER_BYTES = 9;

/**
 * Encodes an OK or ERROR reply carrying `value`, with the server's `load` and a `trailer`
 * (already encoded with the same codec) when given (protocol 2 only). Throws what the codec
 * throws.
 */
export function encodeReply(
  codec: ValueCodec,
  type: number,
  id: number,
  value: unknown,
  load?: WireLoad,
  trailer?: Buffer,
): OutgoingFrame {
  const envAt = REPLY_HEADER_BYTES + (load === undefined ? 0 : LOAD_BYTES);
  const headerBytes = trailer === undefined ? envAt : envAt + 2 + trailer.length;
  const encoded = encodeBehind(codec, headerBytes, value);
  if (encoded instanceof Uint8Array) {
    fillReply(encoded, type, id, load, trailer);
    return encoded;
  }
  fillReply(encoded.head, type, id, load, trailer);
  return encoded.frame;
}

function fillReply(
  buf: Buffer,
  type: number,
  id: number,
  load: WireLoad | undefined,
  trailer: Buffer | undefined,
): void {
  buf[4] = type;
  buf.writeUInt32BE(id, 5);
  if (load === undefined && trailer === undefined) return;
  if (load !== undefined) {
    buf[4] |= FrameFlag.Load;
    writeLoad(buf, REPLY_HEADER_BYTES, load);
  }
  if (trailer !== undefined) {
    const envAt = REPLY_HEADER_BYTES + (load === undefined ? 0 : LOAD_BYTES);
    buf[4] |= FrameFlag.Envelope;
    buf.writeUInt16BE(trailer.length, envAt);
    buf.set(trailer, envAt + 2);
  }
}

/** Where the parts of a reply are (`frame` starts at the type byte); `null` when malformed. */
export interface ReplyLayout {
  /** Offset of the load section, or -1. */
  readonly loadAt: number;
  /** The trailer's bounds (both 0 without an envelope). */
  readonly envelopeStart: number;
  readonly envelopeEnd: number;
  /** Offset of the encoded result or wire error. */
  readonly bodyAt: number;
}

/** The layout of a reply's optional sections. Replies without flags never call this. */
export function replyLayout(frame: Buffer): ReplyLayout | null {
  const type = frame[0] as number;
  let at = 5;
  let loadAt = -1;
  if ((type & FrameFlag.Load) !== 0) {
    loadAt = at;
    at += LOAD_BYTES;
  }
  let envelopeStart = 0;
  let envelopeEnd = 0;
  if ((type & FrameFlag.Envelope) !== 0) {
    if (frame.length < at + 2) return null;
    envelopeStart = at + 2;
    envelopeEnd = envelopeStart + frame.readUInt16BE(at);
    at = envelopeEnd;
  }
  if (frame.length < at) return null;
  return { loadAt, envelopeStart, envelopeEnd, bodyAt: at };
}

/** Encodes a CANCEL for request `id`. */
export function encodeCancel(id: number): Buffer {
  return idFrame(MessageType.Cancel, id, 0);
}

/** Encodes a PROBE with `id`. */
export function encodeProbe(id: number): Buffer {
  return idFrame(MessageType.Probe, id, 0);
}

/** Encodes the answer to PROBE `id`. */
export function encodeProbeReply(id: number, load: WireLoad): Buffer {
  const buf = idFrame(MessageType.ProbeReply, id, LOAD_BYTES);
  writeLoad(buf, 9, load);
  return buf;
}

function idFrame(type: number, id: number, extra: number): Buffer {
  const buf = Buffer.allocUnsafe(9 + extra);
  buf.writeUInt32BE(5 + extra, 0);
  buf[4] = type;
  buf.writeUInt32BE(id, 5);
  return buf;
}

/** The request id of a reply, cancel or probe frame, or -1 when the frame is too short. */
export function frameId(frame: Buffer): number {
  return frame.length >= 5 ? frame.readUInt32BE(1) : -1;
}
