/**
 * The PEERLIST message: `[[name, advertisedAddress], ...]` in MessagePack. Pure encoding and a
 * defensive decoding (a peer's list is untrusted input: malformed entries are skipped, the list
 * is capped), apart from the transport that acts on it.
 */

import { isWildcardHost, parseAddress } from '../addresses.js';
import { isValidNodeName } from '../options.js';
import { decodeValue, encodeValue } from '../rpc/codec.js';
import { buildFrame } from './frames.js';
import { MessageType } from './message-types.js';

/** Entries read from one list at most. */
export const MAX_PEER_LIST_ENTRIES = 10_000;

/**
 * The PEERLIST frame for `peers` (name and advertised address). An address with a wildcard
 * host (from a peer of an older version) or that cannot be parsed leads nowhere: left out.
 */
export function encodePeerList(peers: Iterable<readonly [string, string]>): Buffer {
  const entries: [string, string][] = [];
  for (const [name, address] of peers) if (dialable(address)) entries.push([name, address]);
  return buildFrame(MessageType.PeerList, encodeValue(entries));
}

/** The well-formed `[name, address]` entries of a PEERLIST frame (type byte first). */
export function decodePeerList(frame: Buffer): [string, string][] {
  let peers: unknown;
  try {
    peers = decodeValue(frame.subarray(1));
  } catch {
    return [];
  }
  if (!Array.isArray(peers)) return [];
  const entries: [string, string][] = [];
  for (const entry of peers.slice(0, MAX_PEER_LIST_ENTRIES)) {
    if (Array.isArray(entry) && isValidNodeName(entry[0]) && typeof entry[1] === 'string')
      entries.push([entry[0], entry[1]]);
  }
  return entries;
}

function dialable(address: string): boolean {
  try {
    return !isWildcardHost(parseAddress(address, 'address').host);
  } catch {
    return false;
  }
}
