/**
 * Type tests for argument schemas in `node.expose(module, functions, { schemas })`: a schema
 * must fit its function's parameters (its output assignable to them), and may only name
 * functions of the module.
 */
import type { RpcNode, StandardSchemaV1 } from '../../src/index.js';

declare const node: RpcNode;
declare const num: StandardSchemaV1<unknown, number>;
declare const str: StandardSchemaV1<unknown, string>;
declare const pair: StandardSchemaV1<unknown, [number, number]>;
declare const stringPair: StandardSchemaV1<unknown, [string, string]>;

const MathModule = {
  add: (a: number, b: number) => a + b,
  greet: (name: string, times?: number) => name.repeat(times ?? 1),
};

export function fitting(): void {
  node.expose('Math', MathModule, { schemas: { add: [num, num] } });
  node.expose('Math', MathModule, { schemas: { add: pair, greet: [str] } });
  node.expose('Math', MathModule, { schemas: { greet: [str, num] } });
  node.expose('Math', MathModule);
}

export function misfitting(): void {
  // @ts-expect-error a string schema for a number parameter
  node.expose('Math', MathModule, { schemas: { add: [num, str] } });
  // @ts-expect-error a tuple schema of the wrong element types
  node.expose('Math', MathModule, { schemas: { add: stringPair } });
  // @ts-expect-error no function `sub` in the module
  node.expose('Math', MathModule, { schemas: { sub: [num, num] } });
  // @ts-expect-error not a schema
  node.expose('Math', MathModule, { schemas: { add: (x: unknown) => x } });
  // @ts-expect-error unknown option
  node.expose('Math', MathModule, { schema: {} });
}
