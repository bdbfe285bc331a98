/**
 * The directory of an on-demand node: which nodes count as members of which groups from their
 * discovery entries, when a node seen lost is left out, and when it counts again.
 */
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { Directory, type DirectoryEntry } from '../../../src/membership/directory.js';

function setup() {
  const connected = new Set<string>();
  const groups = new Map<string, Readonly<Record<string, number>>>();
  const directory = new Directory(
    {
      isConnected: (name) => connected.has(name),
      applyGroups: (name, g) => groups.set(name, g),
      dropGroups: (name) => groups.delete(name),
    },
    1_000,
  );
  return { directory, connected, groups };
}

const entry = (incarnation: string, g: Record<string, number> = { work: 1 }): DirectoryEntry => ({
  address: '127.0.0.1:5000',
  incarnation,
  groups: g,
});

test('entries count until their node is connected; a vanished entry drops its groups', () => {
  const { directory, connected, groups } = setup();
  directory.update(new Map([['a@h', entry('1')]]));
  assert.deepEqual(groups.get('a@h'), { work: 1 });
  assert.equal(directory.addressOf('a@h'), '127.0.0.1:5000');
  connected.add('a@h');
  directory.peerUp('a@h');
  groups.set('a@h', { direct: 1 }); // what the connection said
  directory.update(new Map([['a@h', entry('1', { other: 1 })]]));
  assert.deepEqual(groups.get('a@h'), { direct: 1 }, 'a connected node speaks for itself');
  directory.update(new Map());
  assert.deepEqual(groups.get('a@h'), { direct: 1 }, 'nor does a vanished entry drop it');
  connected.delete('a@h');
  directory.update(new Map([['b@h', entry('1')]]));
  directory.update(new Map());
  assert.equal(groups.has('b@h'), false);
});

test('a node seen lost is left out until its entry changes incarnation or outlives the retry time', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { directory, connected, groups } = setup();
    directory.update(new Map([['a@h', entry('1')]]));
    connected.add('a@h');
    directory.peerUp('a@h');
    connected.delete('a@h');
    groups.delete('a@h'); // the connection's memberships went with it
    directory.peerDown('a@h', '1');
    directory.update(new Map([['a@h', entry('1', { work: 1, more: 1 })]]));
    assert.equal(groups.has('a@h'), false, 'the same run, re-registered, is still out');
    assert.equal(directory.addressOf('a@h'), undefined, 'and not dialled');
    mock.timers.tick(999);
    assert.equal(groups.has('a@h'), false);
    mock.timers.tick(1);
    assert.deepEqual(groups.get('a@h'), { work: 1, more: 1 }, 'alive after all: counted again');

    directory.dialFailed('a@h');
    assert.equal(groups.has('a@h'), false, 'a refused dial leaves it out');
    directory.update(new Map([['a@h', entry('2')]]));
    assert.deepEqual(groups.get('a@h'), { work: 1 }, 'a restart (new incarnation) counts at once');

    directory.dialFailed('a@h');
    directory.update(new Map());
    mock.timers.tick(5_000);
    assert.equal(groups.has('a@h'), false, 'a vanished entry is not brought back by the timer');
  } finally {
    mock.timers.reset();
  }
});

test('an idle close hands a node back to its entry with no leave; without an entry it is dropped', () => {
  const { directory, connected, groups } = setup();
  directory.update(new Map([['a@h', entry('1', { work: 2 })]]));
  connected.add('a@h');
  directory.peerUp('a@h');
  groups.set('a@h', { work: 2 }); // what the connection said
  assert.equal(directory.reports('a@h', ['work']), true);
  assert.equal(directory.reports('a@h', ['work', 'other']), false);
  assert.equal(directory.reports('a@h', []), false);
  assert.equal(directory.reports('b@h', []), false, 'no entry: nothing would speak for b');
  connected.delete('a@h');
  directory.idleClosed('a@h');
  assert.deepEqual(groups.get('a@h'), { work: 2 }, 'replaced, never dropped');
  assert.equal(directory.addressOf('a@h'), '127.0.0.1:5000', 'not left out: the next call dials');
  // Its entry speaks for it again: a change it registers is applied.
  directory.update(new Map([['a@h', entry('1', { other: 1 })]]));
  assert.deepEqual(groups.get('a@h'), { other: 1 });
  groups.set('c@h', { work: 1 });
  directory.idleClosed('c@h');
  assert.equal(groups.has('c@h'), false);
});

test('an idle close after a loss clears the loss (the node answered, it is alive)', () => {
  const { directory, groups } = setup();
  directory.update(new Map([['a@h', entry('1')]]));
  directory.peerDown('a@h', '1');
  assert.equal(directory.addressOf('a@h'), undefined);
  directory.idleClosed('a@h');
  assert.equal(directory.addressOf('a@h'), '127.0.0.1:5000');
  assert.deepEqual(groups.get('a@h'), { work: 1 });
  directory.clear();
});
