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
  // Load probes (protocol 2): answered by the RPC layer itself, never by a user handler.
  Probe: 0x15,
  ProbeReply: 0x16,
  // Cluster control (msgpack bodies).
  PeerList: 0x30,
  GroupSync: 0x31,
  GroupDelta: 0x32,
} as const;

/**
 * The optional one-byte body of a GOODBYE: why the connection closes. A GOODBYE without a body
 * is a node leaving. Sent only to peers whose HELLO said they understand it (`idleClose`), so a
 * node of an earlier release never reads a body (it would ignore it anyway).
 */
export const GoodbyeReason = {
  /**
   * Nothing used the connection for the idle timeout (`connections: 'on-demand'`): the
   * connection closes, the node stays (its memberships come from discovery again).
   */
  Idle: 0x01,
} as const;

export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/**
 * The protocol versions this build speaks, announced in HELLO. A connection speaks the highest
 * version both sides speak; with none in common it is refused. Version 1 is the first release's
 * protocol (no envelope, one codec for every message); version 2 adds the per-call envelope,
 * server load in replies, load probes and per-connection record structures
 * (docs/explanation/architecture.md, "Evolving the protocol").
 */
export const PROTOCOL_VERSIONS = Object.freeze({ min: 1, max: 2 });
/** The newest protocol version this build speaks. */
export const PROTOCOL_VERSION = PROTOCOL_VERSIONS.max;
/** Protocol magic, checked in the handshake so a stray client is told apart from a peer. */
export const PROTOCOL_MAGIC = 'RPCLB';
