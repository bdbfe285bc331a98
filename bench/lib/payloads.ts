/**
 * The values every system echoes. They are built once per process from a fixed seed so that
 * every system (and every pass) sends byte-for-byte the same payloads.
 */

import { encodeValue } from '../../src/rpc/codec.js';
import { seededRandom } from '../../test/helpers/random.js';

/** Payload kinds the cases refer to. */
export type PayloadKind = 'small' | 'medium' | 'large';

/** ~64 B once encoded: a typical small request object. */
function small(): unknown {
  return {
    id: 4242,
    user: 'alice',
    op: 'get',
    ok: true,
    score: 0.75,
    tags: ['a', 'b'],
    ts: 1_700_000,
  };
}

/** ~4 KiB once encoded: a page of 44 records with strings and numbers. */
function medium(): unknown {
  const rnd = seededRandom(7);
  const items = [];
  for (let i = 0; i < 44; i++) {
    items.push({
      id: 100_000 + i,
      name: `item-${i}-${Math.floor(rnd() * 1e9).toString(36)}`,
      price: Math.round(rnd() * 10_000) / 100,
      qty: Math.floor(rnd() * 50),
      active: rnd() > 0.5,
      note: 'x'.repeat(48 + Math.floor(rnd() * 16)),
    });
  }
  return { page: 1, total: 44, items };
}

/** 1 MiB of pseudo-random bytes. */
function large(): unknown {
  const rnd = seededRandom(11);
  const buf = Buffer.allocUnsafe(2 ** 20);
  for (let i = 0; i < buf.length; i++) buf[i] = (rnd() * 256) | 0;
  return buf;
}

const cache = new Map<PayloadKind, unknown>();

/** The payload of a kind (built on first use, then shared). */
export function payload(kind: PayloadKind): unknown {
  let value = cache.get(kind);
  if (value === undefined) {
    value = kind === 'small' ? small() : kind === 'medium' ? medium() : large();
    cache.set(kind, value);
  }
  return value;
}

/** Encoded size of a payload with the project codec, in bytes. */
export function encodedSize(kind: PayloadKind): number {
  return encodeValue(payload(kind)).length;
}
