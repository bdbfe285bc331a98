/**
 * The floor's wire format: `[u32 length][u32 call id][body]`, big-endian, where length counts
 * the id and the body. Written to be as cheap as Node allows: frames parsed in place from the
 * socket's chunks (a copy only when a frame spans chunks), writes coalesced per tick into one
 * buffer (or a corked writev when large).
 */
import type { Socket } from 'node:net';

const HEADER = 8;
/** Above this many pending bytes, write the parts corked instead of concatenating them. */
const CONCAT_LIMIT = 64 * 1024;

/** Streaming frame parser: `push` chunks, get `(id, body)` for every complete frame. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before the next frame can be parsed from the buffered chunks. */
  private need = 4;

  constructor(private readonly onFrame: (id: number, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.buffered > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < this.need) return;
      buf = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    let off = 0;
    this.need = 4;
    while (buf.length - off >= 4) {
      const end = off + 4 + buf.readUInt32BE(off);
      if (end > buf.length) {
        this.need = end - off;
        break;
      }
      this.onFrame(buf.readUInt32BE(off + 4), buf.subarray(off + HEADER, end));
      off = end;
    }
    if (off < buf.length) {
      this.chunks.push(off === 0 ? buf : buf.subarray(off));
      this.buffered = buf.length - off;
    }
  }
}

/** Coalescing frame writer: frames sent in one tick leave in one socket write. */
export class FrameWriter {
  private parts: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  constructor(private readonly socket: Socket) {}

  send(id: number, body: Buffer): void {
    const header = Buffer.allocUnsafe(HEADER);
    header.writeUInt32BE(body.length + 4, 0);
    header.writeUInt32BE(id, 4);
    this.parts.push(header, body);
    this.bytes += HEADER + body.length;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushNow);
    }
  }

  flush(): void {
    this.scheduled = false;
    const parts = this.parts;
    if (parts.length === 0) return;
    if (this.bytes <= CONCAT_LIMIT) {
      this.socket.write(Buffer.concat(parts, this.bytes));
    } else {
      this.socket.cork();
      for (const part of parts) this.socket.write(part);
      this.socket.uncork();
    }
    this.parts = [];
    this.bytes = 0;
  }
}
