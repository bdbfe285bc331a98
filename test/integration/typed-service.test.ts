/**
 * Typed services at run time, with two nodes in one process on real sockets: `node.service` and
 * `lb.service` call the module's functions with their arguments, `with()` adds per-call options
 * (merged, the new ones winning), each name's function is built once and kept on the object,
 * and the object is neither thenable nor mistaken for a remote function by `JSON.stringify` or
 * `util.inspect`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import {
  algorithms,
  currentCall,
  type LoadBalancer,
  RpcError,
  type RpcNode,
  startNode,
} from '../../src/index.js';

const quiet = { logLevel: 'silent' as const, cookie: 'typed' };
/** The name of the node serving `MathModule` (set once it started). */
let serverName = '';

/** The server's module, as a user would write it (the tests use its type, as a client would). */
const MathModule = {
  add: (a: number, b: number) => a + b,
  addAsync: async (a: number, b: number) => a + b,
  bytes: (text: string) => Buffer.from(text),
  whoami: () => serverName,
  context: () => {
    const call = currentCall();
    return { meta: { ...call?.meta }, deadlineIn: (call?.deadline ?? 0) - Date.now() };
  },
  slow: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms, ms)),
};
type MathModule = typeof MathModule;

describe('typed services', () => {
  let a: RpcNode;
  let b: RpcNode;
  let lb: LoadBalancer;

  before(async () => {
    a = await startNode({ name: 'ts-a@127.0.0.1', ...quiet });
    b = await startNode({ name: 'ts-b@127.0.0.1', ...quiet });
    serverName = b.name;
    b.expose('Math', MathModule);
    await b.startLoadBalancer({ name: 'math' });
    await a.connect(b.address);
    lb = await a.startLoadBalancer({ name: 'math', nodeMatchList: [] });
    await lb.waitForMembers(1, { timeout: 5_000 });
  });
  after(async () => {
    await Promise.all([a.destroy(), b.destroy()]);
  });

  test('node.service calls the module on its target, sync and async handlers alike', async () => {
    const math = a.service<MathModule>(b.name, 'Math');
    assert.equal(await math.add(1, 2), 3);
    assert.equal(await math.addAsync(2, 3), 5);
    assert.equal(await math.whoami(), b.name);
    const bytes = await math.bytes('hi');
    assert.ok(bytes instanceof Uint8Array);
    assert.deepEqual([...bytes], [104, 105]);
  });

  test('lb.service calls through the balancer', async () => {
    const math = lb.service<MathModule>('Math');
    assert.equal(await math.add(40, 2), 42);
    assert.equal(await math.whoami(), b.name);
  });

  test('each function is built once and kept on the object; the same module gives the same object', () => {
    const math = lb.service<MathModule>('Math');
    assert.equal(lb.service<MathModule>('Math'), math);
    assert.equal(a.service<MathModule>(b.name, 'Math'), a.service<MathModule>(b.name, 'Math'));
    const add = math.add;
    assert.equal(math.add, add);
    assert.ok(Object.hasOwn(math, 'add'), 'the function lives on the object after first use');
    assert.ok(!Object.hasOwn(math, 'addAsync'), 'functions are built on first use only');
  });

  test('with() adds per-call options, merged with those it had, the new ones winning', async () => {
    const math = a.service<MathModule>(b.name, 'Math');
    const tagged = math.with({ meta: { tenant: 'a' }, timeout: 3_000 });
    assert.notEqual(tagged, math);
    const seen = await tagged.context();
    assert.deepEqual(seen.meta, { tenant: 'a' });
    assert.ok(
      seen.deadlineIn > 2_000 && seen.deadlineIn <= 3_000,
      `deadline in ${seen.deadlineIn}`,
    );
    const retagged = await tagged.with({ meta: { tenant: 'b' } }).context();
    assert.deepEqual(retagged.meta, { tenant: 'b' });
    assert.ok(retagged.deadlineIn > 2_000 && retagged.deadlineIn <= 3_000);
    // the original keeps no options
    assert.deepEqual((await math.context()).meta, {});
  });

  test('per-call options reach the call: timeout and signal', async () => {
    const math = lb.service<MathModule>('Math');
    await assert.rejects(math.with({ timeout: 50 }).slow(2_000), (err: RpcError) => {
      assert.equal(err.code, 'request_timeout');
      return true;
    });
    const controller = new AbortController();
    const call = math.with({ signal: controller.signal }).slow(2_000);
    controller.abort(new Error('stop'));
    await assert.rejects(call, /stop/);
  });

  test('a name the module lacks fails like a call: not_found', async () => {
    const math = a.service<Record<string, () => number>>(b.name, 'Math');
    await assert.rejects(math.missing(), (err: RpcError) => {
      assert.ok(err instanceof RpcError);
      assert.equal(err.code, 'not_found');
      return true;
    });
  });

  test('a service object is not thenable, and JSON/inspect make no remote call', async () => {
    const math = lb.service<MathModule>('Math');
    assert.equal(await Promise.resolve(math), math);
    assert.equal((math as unknown as { then?: unknown }).then, undefined);
    assert.equal(JSON.stringify(math.with({ timeout: 1_000 })), '{}');
    assert.match(inspect(math), /Service Math through load balancer math/);
    assert.equal(String(math), '[object Service]');
    assert.throws(() => math.with(null as never), TypeError);
  });

  test('CallDirect: a service through a direct balancer runs in-process', async () => {
    const solo = await startNode({ name: 'ts-solo@127.0.0.1', ...quiet });
    try {
      solo.expose('Math', MathModule);
      const direct = await solo.startLoadBalancer({
        name: 'direct',
        selectionAlgorithm: algorithms.CallDirect,
      });
      assert.equal(await direct.service<MathModule>('Math').add(2, 2), 4);
    } finally {
      await solo.destroy();
    }
  });
});
