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

/** Encodes a CALL (`id` > 0) or a CAST (`id` = 0). `moduleBytes`/`fnBytes` are UTF-8 lengths. */
export function encodeRequest(
  id: number,
  timeoutMs: number,
  module: string,
  moduleBytes: number,
  fn: string,
  fnBytes: number,
  args: Buffer,
): OutgoingFrame {
  const isCall = id > 0;
  const fixed = isCall ? 13 : 5;
  return assemble(fixed + 2 + moduleBytes + fnBytes, args, (buf) => {
    buf[4] = isCall ? MessageType.Call : MessageType.Cast;
    if (isCall) {
      buf.writeUInt32BE(id, 5);
      buf.writeUInt32BE(timeoutMs, 9);
    }
    let offset = fixed;
    buf[offset++] = moduleBytes;
    offset += buf.write(module, offset, 'utf8');
    buf[offset++] = fnBytes;
    buf.write(fn, offset, 'utf8');
  });
}

/** Parses a CALL or CAST header; `null` for a malformed one. */
export function decodeRequest(frame: Buffer): RequestHeader | null {
  const isCall = frame[0] === MessageType.Call;
  let offset = isCall ? 9 : 1;
  if (frame.length < offset + 2) return null;
  const id = isCall ? frame.readUInt32BE(1) : 0;
  const timeoutMs = isCall ? frame.readUInt32BE(5) : 0;
  const moduleLength = frame[offset++] as number;
  if (frame.length < offset + moduleLength + 1) return null;
  const module = frame.toString('utf8', offset, offset + moduleLength);
  offset += moduleLength;
  const fnLength = frame[offset++] as number;
  if (frame.length < offset + fnLength) return null;
  const fn = frame.toString('utf8', offset, offset + fnLength);
  return { id, timeoutMs, module, fn, argsOffset: offset + fnLength };
}

/** Encodes an OK or ERROR reply. */
export function encodeReply(type: number, id: number, body: Buffer): OutgoingFrame {
  return assemble(9, body, (buf) => {
    buf[4] = type;
    buf.writeUInt32BE(id, 5);
  });
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
