/**
 * A server module for the type tests: what a user exposes, imported by the tests as a type only
 * (`typeof import('./math.js').MathModule`), never run.
 */
export const MathModule = {
  add: (a: number, b: number) => a + b,
  addAsync: async (a: number, b: number): Promise<number> => a + b,
  greet: (name: string, punctuation?: string) => `hello ${name}${punctuation ?? ''}`,
  bytes: (text: string) => Buffer.from(text),
  nothing: () => {},
  sum: (...values: number[]) => values.reduce((a, b) => a + b, 0),
  stats: () => ({
    at: new Date(),
    tags: new Set(['a']),
    counts: new Map([['a', Buffer.alloc(1)]]),
    payload: Buffer.alloc(2),
    pair: [Buffer.alloc(1), 1] as [Buffer, number],
    home: new URL('http://127.0.0.1/'),
    describe(): string {
      return 'a method: not sent';
    },
  }),
  /** Not a function: not part of the service. */
  version: 3,
  /** A reserved name: reachable with `call` only. */
  valueOf: () => 1,
};
