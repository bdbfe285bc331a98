/** What the results were measured on: machine, runtime, package versions, commit. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The repository root (dist/bench/lib/machine.js → ../../../). */
export const ROOT = new URL('../../../', import.meta.url);

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  packages: Record<string, string>;
  commit: string;
}

function version(pkgJson: string): string {
  try {
    return (JSON.parse(readFileSync(new URL(pkgJson, ROOT), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'not installed';
  }
}

function commit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    // The results file is this harness's own output, not an input to what is measured.
    const dirty = execFileSync(
      'git',
      ['status', '--porcelain', '--', 'src', 'bench', ':!bench/results'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    ).trim();
    return dirty ? `${hash} (with uncommitted changes in src/ or bench/)` : hash;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    packages: {
      'rpc-load-balancer': version('package.json'),
      msgpackr: version('node_modules/msgpackr/package.json'),
      '@grpc/grpc-js': version('node_modules/@grpc/grpc-js/package.json'),
      moleculer: version('node_modules/moleculer/package.json'),
    },
    commit: commit(),
  };
}
