import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeValue } from '../../../src/rpc/codec.js';
import { buildFrame } from '../../../src/transport/frames.js';
import { MessageType } from '../../../src/transport/message-types.js';
import { decodePeerList, encodePeerList } from '../../../src/transport/peer-list.js';

/** A frame as the transport hands it over: type byte first, no length prefix. */
const payload = (frame: Buffer) => frame.subarray(4);

test('a peer list round-trips; wildcard or unparseable addresses are never given out', () => {
  const frame = encodePeerList([
    ['a@h', '10.0.0.5:4370'],
    ['b@h', '0.0.0.0:4371'],
    ['c@h', '[::]:4372'],
    ['d@h', 'worker4.internal:4373'],
    ['e@h', 'not an address'],
  ]);
  assert.deepEqual(decodePeerList(payload(frame)), [
    ['a@h', '10.0.0.5:4370'],
    ['d@h', 'worker4.internal:4373'],
  ]);
  assert.deepEqual(decodePeerList(payload(encodePeerList([]))), []);
});

test('a malformed list is read as far as it is well formed, never thrown', () => {
  const frame = (value: unknown) => payload(buildFrame(MessageType.PeerList, encodeValue(value)));
  assert.deepEqual(decodePeerList(frame({ not: 'a list' })), []);
  assert.deepEqual(
    decodePeerList(frame([['ok@h', '1.2.3.4:5'], ['bad name', '1.2.3.4:5'], ['x@h', 5], 'junk'])),
    [['ok@h', '1.2.3.4:5']],
  );
  assert.deepEqual(decodePeerList(Buffer.from([MessageType.PeerList, 0xc1])), []);
  const many = Array.from({ length: 20_000 }, (_, i) => [`n${i}@h`, '1.2.3.4:5']);
  assert.equal(decodePeerList(frame(many)).length, 10_000);
});
