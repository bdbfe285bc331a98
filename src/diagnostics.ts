/**
 * Observability through `node:diagnostics_channel`: rare, important events, published only when
 * someone subscribes (nothing is published per call). Subscribe by channel name:
 *
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe('rpclb:node:down', (message) => console.log(message));
 * ```
 */
import diagnosticsChannel from 'node:diagnostics_channel';

/** The channel names, part of the public API. */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  /** A peer connected: {@link NodeUpMessage}. */
  nodeUp: 'rpclb:node:up',
  /** A peer went away: {@link NodeDownMessage}. */
  nodeDown: 'rpclb:node:down',
  /** A connection was refused or dropped before or outside normal operation: {@link ConnectionDroppedMessage}. */
  connectionDropped: 'rpclb:connection:dropped',
  /** A process group's members changed, as this node sees it: {@link GroupChangeMessage}. */
  groupChange: 'rpclb:group:change',
});

/** Published on `rpclb:node:up`. */
export interface NodeUpMessage {
  /** The node that saw it. */
  node: string;
  /** The peer that connected. */
  peer: string;
  /** The peer's advertised address (where it can be dialled). */
  address: string;
}

/** Published on `rpclb:node:down`. */
export interface NodeDownMessage {
  node: string;
  peer: string;
  /** `closed`, `timeout`, `goodbye` or `idle`, as in the `nodedown` event. */
  reason: string;
  /** A human-readable detail (e.g. `no traffic for 3000 ms`). */
  detail: string;
}

/** Published on `rpclb:connection:dropped`. */
export interface ConnectionDroppedMessage {
  node: string;
  /** `host:port` of the other end. */
  remote: string;
  /** The name the other end claimed in its HELLO, if it got that far. */
  claimedName: string | undefined;
  /** Why: `wrong cookie`, `handshake timed out ...`, `frame_too_large: ...`, ... */
  reason: string;
}

/** Published on `rpclb:group:change`. */
export interface GroupChangeMessage {
  node: string;
  group: string;
  type: 'join' | 'leave';
  nodes: readonly string[];
}

const nodeUp = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.nodeUp);
const nodeDown = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.nodeDown);
const connectionDropped = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.connectionDropped);
const groupChange = diagnosticsChannel.channel(DIAGNOSTICS_CHANNELS.groupChange);

/** @internal */
export function publishNodeUp(message: () => NodeUpMessage): void {
  if (nodeUp.hasSubscribers) nodeUp.publish(message());
}

/** @internal */
export function publishNodeDown(message: () => NodeDownMessage): void {
  if (nodeDown.hasSubscribers) nodeDown.publish(message());
}

/** @internal */
export function publishConnectionDropped(message: () => ConnectionDroppedMessage): void {
  if (connectionDropped.hasSubscribers) connectionDropped.publish(message());
}

/** @internal */
export function publishGroupChange(message: () => GroupChangeMessage): void {
  if (groupChange.hasSubscribers) groupChange.publish(message());
}
