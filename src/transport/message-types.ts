/**
 * The first byte of every frame's payload: what the frame carries. One table for the whole
 * protocol so no two layers can claim the same number. The transport owns 0x01–0x0f, the RPC
 * layer 0x10–0x1f, cluster control (peer exchange, process groups) 0x30–0x3f.
 */
export const MessageType = {
  // Handshake (before a connection is ready).
  Hello: 0x01,
  Auth: 0x02,
  Welcome: 0x03,
  Reject: 0x04,
  // Connection life.
  Ping: 0x05,
  Goodbye: 0x06,
  // RPC.
  Call: 0x10,
  Cast: 0x11,
  ReplyOk: 0x12,
  ReplyError: 0x13,
  Cancel: 0x14,
  // Cluster control (msgpack bodies).
  PeerList: 0x30,
  GroupSync: 0x31,
  GroupDelta: 0x32,
} as const;

export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** Wire protocol version, checked in the handshake. */
export const PROTOCOL_VERSION = 1;
/** Protocol magic, checked in the handshake so a stray client is told apart from a peer. */
export const PROTOCOL_MAGIC = 'RPCLB';
