/** Turns the per-pass measurements into per-case, per-system summaries and ratios to the floor. */
import type { MembershipBenchResult } from '../membership.js';
import type { CaseDef, ModeConfig, TargetDef } from './cases.js';
import type { MachineInfo } from './machine.js';
import type { PayloadKind } from './payloads.js';
import type { PicksReport } from './picks-types.js';
import type { RunResult, SystemName } from './protocol.js';
import { type Summary, summarize } from './stats.js';

/** One system, one case, one pass. */
export interface Measurement {
  caseId: string;
  system: SystemName;
  pass: number;
  result?: RunResult;
  error?: string;
  /** Fraction of the measured calls each server handled (balanced cases). */
  shares?: number[];
  /** CPU time (user + system) the servers used during the measurement, in µs. */
  serverCpuUs?: number;
}

/** Everything a run produced (written to bench/results/latest.json). */
export interface BenchResults {
  mode: 'quick' | 'full';
  command: string;
  startedAt: string;
  durationS: number;
  /** 1, 5 and 15-minute load averages just before the run (other work on the machine). */
  loadBefore: number[];
  machine: MachineInfo;
  config: ModeConfig & { passesDone: number; stoppedEarly?: string };
  payloadBytes: Record<PayloadKind, number>;
  cases: CaseDef[];
  systems: SystemName[];
  skipped: Partial<Record<SystemName, string>>;
  measurements: Measurement[];
  picks: PicksReport;
  /** Cluster membership (bench/membership.ts); absent in results written before it was run. */
  membership?: MembershipReport;
}

/** What the membership benchmark gave: its figures, or why there are none. */
export type MembershipReport = MembershipBenchResult | { missing: string };

/** A system's figures in one case, over the passes. */
export interface Cell {
  /** Calls per second. */
  throughput: Summary;
  /** Latency in µs (sequential cases). */
  p50?: Summary;
  p99?: Summary;
  mean?: Summary;
  /** Median share of each server (balanced cases). */
  shares?: number[];
  /** Throughput ÷ the floor's, paired pass by pass (higher is better). */
  ratio?: Summary;
  /** Throughput ÷ the plain-msgpackr floor's, paired pass by pass. */
  ratioPlain?: Summary;
  /** p50 ÷ the floor's p50, paired pass by pass (lower is better). */
  p50Ratio?: Summary;
  /** CPU µs per call in the client (driver) process and in the server processes. */
  clientCpu?: Summary;
  serverCpu?: Summary;
  errors: string[];
}

export type Analysis = Map<string, Map<SystemName, Cell>>;

const callsPerSec = (r: RunResult) => r.calls / (r.elapsedMs / 1000);

export function analyze(results: BenchResults): Analysis {
  const out: Analysis = new Map();
  for (const def of results.cases) {
    const bySystem = new Map<SystemName, Cell>();
    const rows = results.measurements.filter((m) => m.caseId === def.id);
    const floorByPass = new Map<number, RunResult>();
    const plainByPass = new Map<number, RunResult>();
    for (const m of rows) {
      if (m.system === 'floor' && m.result) floorByPass.set(m.pass, m.result);
      if (m.system === 'floorPlain' && m.result) plainByPass.set(m.pass, m.result);
    }
    for (const system of results.systems) {
      const mine = rows.filter((m) => m.system === system);
      const ok = mine.filter((m) => m.result !== undefined) as (Measurement & {
        result: RunResult;
      })[];
      if (mine.length === 0) continue;
      const cell: Cell = {
        throughput: summarize(ok.map((m) => callsPerSec(m.result))),
        errors: mine.flatMap((m) => (m.error ? [m.error] : [])),
      };
      const lat = ok.flatMap((m) => (m.result.latency ? [m.result.latency] : []));
      if (lat.length > 0) {
        cell.p50 = summarize(lat.map((l) => l.p50));
        cell.p99 = summarize(lat.map((l) => l.p99));
        cell.mean = summarize(lat.map((l) => l.mean));
      }
      const perCall = (us: number | undefined, m: { result: RunResult }) =>
        us === undefined || m.result.calls === 0 ? [] : [us / m.result.calls];
      const clientCpu = ok.flatMap((m) => perCall(m.result.cpuUs, m));
      const serverCpu = ok.flatMap((m) => perCall(m.serverCpuUs, m));
      if (clientCpu.length > 0) cell.clientCpu = summarize(clientCpu);
      if (serverCpu.length > 0) cell.serverCpu = summarize(serverCpu);
      const shares = ok.flatMap((m) => (m.shares ? [m.shares] : []));
      if (shares.length > 0) {
        cell.shares = (shares[0] as number[]).map(
          (_, i) => summarize(shares.map((s) => s[i] ?? 0)).median,
        );
      }
      const ratios: number[] = [];
      const p50Ratios: number[] = [];
      const plainRatios: number[] = [];
      for (const m of ok) {
        const plain = plainByPass.get(m.pass);
        if (plain) plainRatios.push(callsPerSec(m.result) / callsPerSec(plain));
        const floor = floorByPass.get(m.pass);
        if (!floor) continue;
        ratios.push(callsPerSec(m.result) / callsPerSec(floor));
        if (m.result.latency && floor.latency) {
          p50Ratios.push(m.result.latency.p50 / floor.latency.p50);
        }
      }
      if (ratios.length > 0) cell.ratio = summarize(ratios);
      if (plainRatios.length > 0) cell.ratioPlain = summarize(plainRatios);
      if (p50Ratios.length > 0) cell.p50Ratio = summarize(p50Ratios);
      bySystem.set(system, cell);
    }
    out.set(def.id, bySystem);
  }
  return out;
}

/** The verdict on one target for rpc-load-balancer. */
export interface Verdict {
  label: string;
  wanted: string;
  measured: string;
  status: 'PASS' | 'MISS' | 'n/a';
}

export function judge(target: TargetDef, analysis: Analysis, skipped?: string): Verdict {
  const sign = target.bound === 'min' ? '≥' : '≤';
  const what = target.metric === 'p50' ? 'p50' : 'calls/s';
  const plain = target.reference === 'floorPlain';
  const wanted = `${what} ${sign} ${target.ratio}× ${plain ? 'plain-msgpackr floor' : 'floor'}`;
  const cell = analysis.get(target.caseId)?.get('rpclb');
  const ratio = target.metric === 'p50' ? cell?.p50Ratio : plain ? cell?.ratioPlain : cell?.ratio;
  if (!ratio || Number.isNaN(ratio.median)) {
    return { label: target.label, wanted, measured: skipped ?? 'not measured', status: 'n/a' };
  }
  const ok = target.bound === 'min' ? ratio.median >= target.ratio : ratio.median <= target.ratio;
  return {
    label: target.label,
    wanted,
    measured: `${ratio.median.toFixed(2)}× (passes ${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})`,
    status: ok ? 'PASS' : 'MISS',
  };
}
