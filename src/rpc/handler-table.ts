/**
 * The handlers of one exposed module, checked once at expose time: names within the wire's
 * limit, functions only, schemas naming functions of the module (a function with one is wrapped
 * here). The server keeps the result, a `Map` it looks handlers up in by the names a request
 * carries, so no property of the object given to `expose` is ever read by a name from the network.
 */
import { describe } from '../options.js';
import { MAX_NAME_BYTES } from './names.js';
import { withArgumentSchema } from './schema.js';

/** A handler as the server calls it. */
export type AnyHandler = (...args: unknown[]) => unknown;

/** The handler table of `module`, checked: a `TypeError` for bad names or non-function values. */
export function handlerTable(
  module: string,
  functions: Readonly<Record<string, unknown>>,
  schemas?: Record<string, unknown>,
): Map<string, AnyHandler> {
  if (typeof functions !== 'object' || functions === null) {
    throw new TypeError(
      `expose("${module}", functions): functions must be an object, received ${describe(functions)}`,
    );
  }
  if (schemas !== undefined && (typeof schemas !== 'object' || schemas === null)) {
    throw new TypeError(
      `expose("${module}"): option "schemas" must be an object, received ${describe(schemas)}`,
    );
  }
  for (const name of Object.keys(schemas ?? {})) {
    if (typeof functions[name] !== 'function') {
      throw new TypeError(`expose("${module}"): schemas.${name} names no function of the module`);
    }
  }
  const table = new Map<string, AnyHandler>();
  for (const [name, fn] of Object.entries(functions)) {
    checkName('function', name);
    if (typeof fn !== 'function') {
      throw new TypeError(
        `expose("${module}"): "${name}" must be a function, received ${describe(fn)}`,
      );
    }
    const schema = schemas?.[name];
    table.set(
      name,
      schema === undefined
        ? (fn as AnyHandler)
        : withArgumentSchema(module, name, fn as AnyHandler, schema),
    );
  }
  return table;
}

/** Throws a `TypeError` unless `name` is a valid module or function name (`what` says which). */
export function checkName(what: string, name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new TypeError(
      `${what} name must be a non-empty string of at most ${MAX_NAME_BYTES} bytes, received ${describe(name)}`,
    );
  }
}
