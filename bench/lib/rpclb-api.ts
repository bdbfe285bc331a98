/**
 * Loads rpc-load-balancer's public API (DESIGN §2) from the build, if it is there. The import is
 * dynamic so the other systems can be benchmarked while the library is not built.
 */
import type * as Rpclb from '../../src/index.js';

/** The public API (DESIGN §2), typed from the source so the adapter is checked against it. */
export type RpclbModule = typeof Rpclb;

/** The message used wherever rpc-load-balancer cannot be loaded. */
export const NOT_BUILT = 'rpc-load-balancer not built yet';

/** The built library, or a reason it cannot be used. */
export async function loadRpclb(): Promise<RpclbModule | { missing: string }> {
  const url = new URL('../../src/index.js', import.meta.url).href;
  try {
    const mod = (await import(url)) as Partial<RpclbModule>;
    if (typeof mod.startNode !== 'function') {
      return { missing: `${NOT_BUILT} (dist/src/index.js does not export startNode)` };
    }
    if (mod.algorithms?.RoundRobin === undefined) {
      return { missing: `${NOT_BUILT} (dist/src/index.js does not export algorithms.RoundRobin)` };
    }
    return mod as RpclbModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND') return { missing: `${NOT_BUILT} (no dist/src/index.js)` };
    return { missing: `${NOT_BUILT} (${(err as Error).message})` };
  }
}
