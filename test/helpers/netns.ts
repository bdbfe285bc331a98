/**
 * A small network of Linux network namespaces for multi-host tests: each host is a namespace
 * with its own loopback and one interface `eth0`, with an address in 127.77.0.0/24 (never a
 * private or public range; `route_localnet` lets 127/8 travel between namespaces). The hosts
 * of each side hang on a bridge in a "switch" namespace; the two bridges are joined by one veth
 * pair, the trunk, so `partition()` (the trunk down) cuts the network in two halves and
 * `heal()` joins them again. Nothing is created in the initial namespace.
 *
 * ```ts
 * const why = NetnsLab.unavailable();        // no root, no `ip`, not Linux...
 * if (why) return t.skip(why);
 * const lab = NetnsLab.create(t, [2, 2]);
 * const worker = await cluster.spawn({ host: '0.0.0.0', advertiseAddress: lab.hosts[0].address },
 *   15_000, lab.hosts[0].exec);
 * lab.partition(); lab.heal();
 * ```
 * Every namespace is deleted when the test ends (and when the process exits); namespaces left
 * by a test process that was killed are swept on the next `create`.
 */
import { execFileSync } from 'node:child_process';

/** One host of the lab. */
export interface LabHost {
  /** The namespace's name. */
  readonly ns: string;
  /** Its address, on `eth0`. */
  readonly address: string;
  /** The command prefix that runs a program inside it. */
  readonly exec: string[];
}

const PREFIX = 'rlbt';
const SUBNET = '127.77.0';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Deletes namespaces of earlier test processes that are gone (killed before cleaning up). */
function sweep(): void {
  for (const line of ip('netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const owner = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (owner && !alive(Number(owner[1]))) ip('netns', 'del', name);
  }
}

export class NetnsLab {
  readonly hosts: LabHost[] = [];
  readonly #switch: string;
  readonly #namespaces: string[] = [];
  #cleaned = false;

  private constructor(id: string) {
    this.#switch = `${PREFIX}${process.pid}-${id}-sw`;
  }

  /**
   * Builds the lab with `sides[0]` hosts on one side and `sides[1]` on the other. Check
   * {@link NetnsLab.unavailable} first (and skip the test with its reason).
   */
  static create(
    t: { after(fn: () => unknown): void },
    sides: [number, number],
    id = 'lab',
  ): NetnsLab {
    sweep();
    const lab = new NetnsLab(id);
    t.after(() => lab.cleanup());
    process.once('exit', () => lab.cleanup());
    lab.#build(sides);
    return lab;
  }

  /** Why namespaces cannot be used here, or `undefined` when they can. */
  static unavailable(): string | undefined {
    if (process.platform !== 'linux') return 'not Linux';
    if (process.getuid?.() !== 0) return 'not running as root';
    const probe = `${PREFIX}${process.pid}-probe`;
    try {
      ip('netns', 'add', probe);
      ip('netns', 'del', probe);
      return undefined;
    } catch (err) {
      return `cannot create a network namespace (${String((err as Error).message).split('\n')[0]})`;
    }
  }

  /** Cuts the trunk between the two sides. */
  partition(): void {
    ip('-n', this.#switch, 'link', 'set', 'trunk1', 'down');
  }

  /** Joins the two sides again. */
  heal(): void {
    ip('-n', this.#switch, 'link', 'set', 'trunk1', 'up');
  }

  /** Deletes every namespace of the lab (idempotent). */
  cleanup(): void {
    if (this.#cleaned) return;
    this.#cleaned = true;
    for (const ns of this.#namespaces.reverse()) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // already gone
      }
    }
  }

  #addNamespace(name: string): void {
    ip('netns', 'add', name);
    this.#namespaces.push(name);
  }

  #build(sides: [number, number]): void {
    const sw = this.#switch;
    this.#addNamespace(sw);
    for (const bridge of ['br1', 'br2']) {
      ip('-n', sw, 'link', 'add', bridge, 'type', 'bridge');
      ip('-n', sw, 'link', 'set', bridge, 'up');
    }
    ip('-n', sw, 'link', 'add', 'trunk1', 'type', 'veth', 'peer', 'name', 'trunk2');
    ip('-n', sw, 'link', 'set', 'trunk1', 'master', 'br1', 'up');
    ip('-n', sw, 'link', 'set', 'trunk2', 'master', 'br2', 'up');
    let n = 0;
    for (const [side, count] of sides.entries()) {
      for (let i = 0; i < count; i++) this.#addHost(++n, side === 0 ? 'br1' : 'br2');
    }
  }

  #addHost(n: number, bridge: string): void {
    const ns = this.#switch.replace(/-sw$/, `-h${n}`);
    const address = `${SUBNET}.${n}`;
    const port = `p${n}`;
    this.#addNamespace(ns);
    ip(
      'link',
      'add',
      'eth0',
      'netns',
      ns,
      'type',
      'veth',
      'peer',
      'name',
      port,
      'netns',
      this.#switch,
    );
    ip('-n', this.#switch, 'link', 'set', port, 'master', bridge, 'up');
    // Its own loopback, reduced to 127.0.0.1 alone: with the usual 127.0.0.0/8 on lo, every
    // 127.77.0.x would count as local and never leave the namespace.
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'del', '127.0.0.1/8', 'dev', 'lo');
    ip('-n', ns, 'addr', 'add', '127.0.0.1/32', 'dev', 'lo');
    execFileSync('ip', [
      'netns',
      'exec',
      ns,
      'sysctl',
      '-qw',
      'net.ipv4.conf.all.route_localnet=1',
      'net.ipv4.conf.eth0.route_localnet=1',
    ]);
    ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', ns, 'link', 'set', 'eth0', 'up');
    this.hosts.push({ ns, address, exec: ['ip', 'netns', 'exec', ns] });
  }
}
