/**
 * Typed service proxies without code generation: `node.service<typeof Math>(target, 'Math')`
 * and `lb.service<typeof Math>('Math')` return an object whose functions are typed from a
 * type-only import of the server's module, so a wrong function name, argument type or arity
 * fails to compile, and every result is a `Promise` of what the codec hands back.
 *
 * Cost on the hot path: a service object is a plain object whose prototype is a `Proxy`. The
 * first access to a name falls through to the proxy, which builds the function for that name
 * once and defines it on the object itself; every later `service.add(…)` is one own-property
 * lookup and a call to `lb.call` / `node.call`, with no trap in between.
 */
import { inspect } from 'node:util';

/** `true` when `T` is `any` (which would otherwise spread into every branch of {@link Decoded}). */
type IsAny<T> = 0 extends 1 & T ? true : false;

/**
 * What a value of type `T` is once it has crossed the wire (the codec: MessagePack, see
 * docs/explanation/codec.md): the type a caller receives for a handler's result.
 *
 * - primitives, `Date`, `RegExp`, typed arrays and `ArrayBuffer` stay as they are;
 * - a `Buffer` comes back as a `Uint8Array` (same bytes; at run time it may still be a Buffer);
 * - an `Error` comes back as a plain `Error` (its class is not kept);
 * - `Map`, `Set`, arrays and tuples keep their shape, with their contents mapped;
 * - an object with `toJSON()` (a `URL`) comes back as what `toJSON` returns;
 * - any other object comes back as a plain object of its data properties: methods and symbol
 *   keys are dropped (class instances lose their prototype; getters are lost as well, which a
 *   type cannot tell apart from fields);
 * - functions and symbols cannot be encoded (the call fails), so they map to `never`.
 */
export type Decoded<T> =
  IsAny<T> extends true
    ? T
    : T extends string | number | boolean | bigint | null | undefined
      ? T
      : T extends Buffer
        ? Uint8Array
        : T extends Date | RegExp | ArrayBuffer | ArrayBufferView
          ? T
          : T extends Error
            ? Error
            : T extends ReadonlyMap<infer K, infer V>
              ? Map<Decoded<K>, Decoded<V>>
              : T extends ReadonlySet<infer V>
                ? Set<Decoded<V>>
                : T extends readonly unknown[]
                  ? { -readonly [I in keyof T]: Decoded<T[I]> }
                  : T extends ((...args: never[]) => unknown) | symbol
                    ? never
                    : T extends { toJSON(): infer J }
                      ? Decoded<J>
                      : T extends object
                        ? { [K in keyof T as DataKey<T, K>]: Decoded<T[K]> }
                        : T;

/** `K` when `T[K]` is data that the codec sends (not a method, not a symbol key). */
type DataKey<T, K extends keyof T> = K extends symbol
  ? never
  : T[K] extends (...args: never[]) => unknown
    ? never
    : K;

/**
 * The remote form of handler `F`: the same parameters, and a `Promise` of its decoded result,
 * whether the handler is sync or async. (For an overloaded handler, TypeScript takes the last
 * overload; generic handlers lose their type parameters.)
 */
export type RemoteFunction<F> = F extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Decoded<Awaited<R>>>
  : never;

/**
 * Names a service object keeps for itself: `with` (per-call options), the names JavaScript
 * looks up on objects (`then` by `await`, `toJSON` by `JSON.stringify`) and those of
 * `Object.prototype` (`toString`, `valueOf`, `hasOwnProperty`, ...), which keep their usual
 * meaning. A handler with one of these names is still reachable with `call(module, name, args)`.
 */
export type ReservedServiceName =
  | 'with'
  | 'then'
  | 'toJSON'
  | 'constructor'
  | 'toString'
  | 'toLocaleString'
  | 'valueOf'
  | 'hasOwnProperty'
  | 'isPrototypeOf'
  | 'propertyIsEnumerable';

/** The functions of module `M` (its string keys whose values are functions), as remote calls. */
export type ServiceFunctions<M> = {
  readonly [K in keyof M as K extends ReservedServiceName
    ? never
    : K extends string
      ? M[K] extends (...args: never[]) => unknown
        ? K
        : never
      : never]: RemoteFunction<M[K]>;
};

/**
 * A typed proxy for module `M` on a node (`node.service`) or behind a balancer (`lb.service`):
 * one remote function per function of `M`, plus `with(options)`.
 *
 * @typeParam M - the module's type, usually from a type-only import:
 *   `typeof import('./math.js').Math`.
 * @typeParam O - the per-call options: `CallOptions` for a node, `BalancedCallOptions` for a
 *   balancer.
 */
export type Service<M, O> = ServiceFunctions<M> & {
  /**
   * The same service with `options` for every call made through it, on top of the options it
   * already had (a field given here wins). Keep the result when the options do not change per
   * call: each service object builds its functions once.
   *
   * @example
   * ```ts
   * const math = lb.service<typeof import('./math.js').Math>('Math');
   * await math.with({ key: userId, timeout: 2_000 }).add(1, 2);
   * ```
   */
  with(options: O): Service<M, O>;
};

/** @internal How a service object makes its calls: function name, arguments, options. */
export type ServiceInvoker<O> = (
  fn: string,
  args: unknown[],
  options: O | undefined,
) => Promise<unknown>;

/** Looked up by JavaScript itself (`await`, `JSON.stringify`): never remote functions. */
const RESERVED: ReadonlySet<string> = new Set(['then', 'toJSON']);

/** Where a service object keeps its options (own property, never a remote name). */
const OPTIONS = Symbol('rpclb.serviceOptions');

interface ServiceObject<O> {
  [OPTIONS]: O | undefined;
  [name: string]: unknown;
}

/**
 * @internal Makes a service object: `invoke` runs each call; `label` names it in
 * `util.inspect`. The object's functions are built on first use of each name and then live on
 * the object itself.
 */
export function makeService<M, O extends object>(
  invoke: ServiceInvoker<O>,
  label: string,
  options?: O,
): Service<M, O> {
  // Object.prototype under it: `toString`, `valueOf` and the like keep their usual meaning
  const base: Record<string | symbol, unknown> = {};
  const proto: object = new Proxy(base, {
    get(target, prop, receiver: ServiceObject<O>) {
      if (typeof prop !== 'string' || prop in target) return Reflect.get(target, prop, receiver);
      if (RESERVED.has(prop)) return undefined;
      const bound = receiver[OPTIONS];
      const fn = (...args: unknown[]) => invoke(prop, args, bound);
      // on the object itself: the next lookup of this name never reaches the proxy
      Object.defineProperty(receiver, prop, { value: fn, enumerable: true });
      return fn;
    },
  });
  const create = (opts: O | undefined): Service<M, O> => {
    const service = Object.create(proto) as ServiceObject<O>;
    Object.defineProperty(service, OPTIONS, { value: opts });
    return service as unknown as Service<M, O>;
  };
  base.with = function withOptions(this: ServiceObject<O>, more: O): Service<M, O> {
    if (typeof more !== 'object' || more === null) {
      throw new TypeError(
        `service.with(options): options must be an object, received ${typeof more}`,
      );
    }
    const current = this[OPTIONS];
    return create(current === undefined ? { ...more } : { ...current, ...more });
  };
  base[inspect.custom] = function show(this: ServiceObject<O>): string {
    return `Service ${label}`;
  };
  base[Symbol.toStringTag] = 'Service';
  return create(options === undefined ? undefined : { ...options });
}

/** Service objects a node or a balancer keeps for reuse, at most. */
const MAX_CACHED_SERVICES = 1_024;

/**
 * @internal The service objects of a node (by target and module) or a balancer (by module), so
 * that `service(…)` in a loop builds nothing. Bounded: the keys come from callers, who could
 * pass endless distinct ones; a full cache starts afresh.
 */
export class ServiceCache<O extends object> {
  readonly #services = new Map<string, Service<unknown, O>>();

  /** The service object kept under `key`, if any. */
  get(key: string): Service<unknown, O> | undefined {
    return this.#services.get(key);
  }

  /** Keeps `service` under `key` and returns it. */
  add(key: string, service: Service<unknown, O>): Service<unknown, O> {
    if (this.#services.size >= MAX_CACHED_SERVICES) this.#services.clear();
    this.#services.set(key, service);
    return service;
  }
}
