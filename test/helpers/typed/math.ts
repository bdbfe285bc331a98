/**
 * The server module of the typed multi-process test: what each worker exposes as `Math`, and
 * whose type the shared definition (balancers.ts) and the callers use.
 */
import { RpcError, type StandardSchemaV1 } from '../../../src/index.js';

/** Per-process state the test switches (through the worker's ops). */
export const state = { refusing: false, refusals: 0, casts: 0 };

/** The module, for the node named `self`. */
export function mathModule(self: string) {
  return {
    add: (a: number, b: number) => a + b,
    bytes: (text: string) => Buffer.from(text),
    whoami: () => {
      if (state.refusing) {
        state.refusals++;
        throw new RpcError('service_unavailable', `${self} refuses`, { notExecuted: true });
      }
      return self;
    },
    record: () => {
      state.casts++;
    },
  };
}

/** The module's type: what callers import (as a type only). */
export type MathModule = ReturnType<typeof mathModule>;

const isNumber: StandardSchemaV1<unknown, number> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) =>
      typeof value === 'number' ? { value } : { issues: [{ message: 'expected a number' }] },
  },
};

/** The argument schemas the workers expose `Math` with. */
export const mathSchemas = { add: [isNumber, isNumber] } as const;
