import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeValue, encodeValue } from '../../../src/rpc/codec.js';
import {
  cookieProof,
  decodeHello,
  encodeHello,
  formatVersions,
  type Hello,
  negotiateVersion,
  newNonce,
  proofMatches,
} from '../../../src/transport/handshake.js';
import {
  PROTOCOL_MAGIC,
  PROTOCOL_VERSION,
  PROTOCOL_VERSIONS,
} from '../../../src/transport/message-types.js';

const A = 'a@127.0.0.1';
const B = 'b@127.0.0.1';

/** One side of the challenge–response, as Connection runs it. */
function side(name: string, cookie: string) {
  const nonce = newNonce();
  return {
    name,
    nonce,
    /** The proof this side sends in answer to `peer`'s challenge. */
    prove: (peer: { name: string; nonce: Uint8Array }) =>
      cookieProof(cookie, peer.nonce, nonce, name, peer.name),
    /** Checks `proof` as coming from `peer`. */
    verify: (peer: { name: string; nonce: Uint8Array }, proof: Uint8Array) =>
      proofMatches(proof, cookieProof(cookie, nonce, peer.nonce, peer.name, name)),
  };
}

describe('cookie proof', () => {
  test('peers sharing the cookie verify each other', () => {
    const a = side(A, 'secret');
    const b = side(B, 'secret');
    assert.ok(b.verify(a, a.prove(b)));
    assert.ok(a.verify(b, b.prove(a)));
  });

  test('a wrong cookie fails, in both directions', () => {
    const a = side(A, 'secret');
    const b = side(B, 'not-the-secret');
    assert.equal(b.verify(a, a.prove(b)), false);
    assert.equal(a.verify(b, b.prove(a)), false);
  });

  test('a proof reflected back at its sender fails', () => {
    const a = side(A, 'secret');
    // The attacker relays A's challenge as its own and sends A's own proof back.
    const mirror = { name: B, nonce: a.nonce };
    const proofFromA = a.prove(mirror);
    assert.equal(a.verify(mirror, proofFromA), false);
    // Even with a fresh nonce of its own, the attacker cannot reuse a proof A made for someone else.
    const attacker = { name: B, nonce: newNonce() };
    assert.equal(a.verify(attacker, a.prove(attacker)), false);
  });

  test('a proof answers one challenge only (no replay)', () => {
    const a = side(A, 'secret');
    const b1 = side(B, 'secret');
    const b2 = side(B, 'secret');
    const proof = a.prove(b1);
    assert.ok(b1.verify(a, proof));
    assert.equal(b2.verify(a, proof), false, 'the same proof against a new challenge');
  });

  test('a proof is bound to both names', () => {
    const a = side(A, 'secret');
    const b = side(B, 'secret');
    const c = side('c@127.0.0.1', 'secret');
    const proof = a.prove(b);
    // Claiming to be someone else with A's proof fails.
    assert.equal(b.verify({ name: 'c@127.0.0.1', nonce: a.nonce }, proof), false);
    // A proof made for B does not convince C.
    assert.equal(c.verify(a, proof), false);
  });

  test('the proof is an HMAC: it does not contain the cookie', () => {
    const cookie = 'a-very-recognisable-cookie';
    const proof = cookieProof(cookie, newNonce(), newNonce(), A, B);
    assert.equal(proof.length, 32);
    assert.equal(proof.includes(Buffer.from(cookie)), false);
  });

  test('proofs of the wrong length never match', () => {
    const expected = cookieProof('secret', newNonce(), newNonce(), A, B);
    assert.equal(proofMatches(expected.subarray(0, 31), expected), false);
    assert.equal(proofMatches(new Uint8Array(0), expected), false);
    assert.equal(proofMatches(Buffer.concat([expected, Buffer.alloc(1)]), expected), false);
  });
});

describe('hello', () => {
  const hello: Hello = {
    versions: { min: 1, max: 2 },
    name: A,
    incarnation: 'abcdef0123456789',
    address: '127.0.0.1:4370',
    nonce: newNonce(),
    maxFrameBytes: 32 * 2 ** 20,
    heartbeatTimeoutMs: 3_000,
  };
  const raw = (fields: Record<string, unknown>) =>
    encodeValue({ magic: PROTOCOL_MAGIC, version: 1, ...hello, versions: [1, 2], ...fields });

  test('round-trips', () => {
    const decoded = decodeHello(encodeHello(hello));
    assert.ok(typeof decoded !== 'string');
    assert.equal(decoded.name, hello.name);
    assert.equal(decoded.incarnation, hello.incarnation);
    assert.equal(decoded.address, hello.address);
    assert.deepEqual([...decoded.nonce], [...hello.nonce]);
    assert.equal(decoded.maxFrameBytes, hello.maxFrameBytes);
    assert.deepEqual(decoded.versions, { min: 1, max: 2 });
  });

  test('a protocol-1 hello (a single version) reads as the range 1–1', () => {
    const decoded = decodeHello(raw({ versions: undefined, version: 1 }));
    assert.ok(typeof decoded !== 'string');
    assert.deepEqual(decoded.versions, { min: 1, max: 1 });
  });

  test('the hello a protocol-1 node reads says version 1 (its only check), with the range beside it', () => {
    const fields = decodeValue(encodeHello(hello)) as Record<string, unknown>;
    assert.equal(fields.version, PROTOCOL_VERSIONS.min);
    assert.deepEqual(fields.versions, [PROTOCOL_VERSIONS.min, PROTOCOL_VERSIONS.max]);
    assert.equal(PROTOCOL_VERSION, PROTOCOL_VERSIONS.max);
  });
  const bad: [string, Uint8Array, RegExp][] = [
    ['garbage bytes', Buffer.from([0xc1, 0xff, 0x00]), /unreadable|malformed/],
    ['not an object', encodeValue('hello'), /malformed/],
    ['wrong magic', raw({ magic: 'HTTP' }), /magic/],
    ['versions that are not a range', raw({ versions: [3, 1] }), /versions/],
    ['versions that are not numbers', raw({ versions: ['1', '2'] }), /versions/],
    ['no version at all', raw({ versions: undefined, version: undefined }), /versions/],
    ['a bad name', raw({ name: 'no at sign' }), /name/],
    ['a short nonce', raw({ nonce: new Uint8Array(8) }), /nonce/],
    ['a nonce that is not bytes', raw({ nonce: 'x'.repeat(32) }), /nonce/],
    ['a tiny frame limit', raw({ maxFrameBytes: 10 }), /frame limit/],
    ['a non-numeric frame limit', raw({ maxFrameBytes: '1000000' }), /frame limit/],
    ['a long incarnation', raw({ incarnation: 'x'.repeat(100) }), /incarnation/],
    ['an address that is not a string', raw({ address: 42 }), /address/],
  ];
  for (const [what, body, message] of bad) {
    test(`refuses ${what}`, () => {
      const result = decodeHello(body);
      assert.equal(typeof result, 'string');
      assert.match(result as string, message);
    });
  }
});

describe('protocol version negotiation', () => {
  const cases: [string, [number, number], [number, number], number | undefined][] = [
    ['the same range', [1, 2], [1, 2], 2],
    ['a protocol-1 peer', [1, 2], [1, 1], 1],
    ['a newer peer that still speaks ours', [1, 2], [2, 3], 2],
    ['a much newer peer', [1, 2], [3, 4], undefined],
    ['an older peer', [2, 3], [1, 1], undefined],
    ['nested ranges', [1, 5], [2, 3], 3],
  ];
  for (const [what, own, peer, expected] of cases) {
    test(`${what}: ${expected ?? 'refused'}`, () => {
      const range = ([min, max]: [number, number]) => ({ min, max });
      assert.equal(negotiateVersion(range(own), range(peer)), expected);
      assert.equal(negotiateVersion(range(peer), range(own)), expected, 'both sides agree');
    });
  }

  test('ranges are shown as a reader expects', () => {
    assert.equal(formatVersions({ min: 1, max: 2 }), '1–2');
    assert.equal(formatVersions({ min: 3, max: 3 }), '3');
  });
});
