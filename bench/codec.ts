/**
 * Codec micro-benchmark: `node dist/bench/codec.js [--quick]`.
 *
 * Encode + decode time and encoded size of the project codec (src/rpc/codec.ts) against a
 * default msgpackr `Packr`, `v8.serialize`/`deserialize` and JSON (with the Buffer conversions a
 * wire needs), on the benchmark's ~64 B and ~4 KiB objects, plus which of the value types the
 * contract requires each one carries faithfully. Prints markdown and rewrites the generated
 * section of docs/explanation/codec.md.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import v8 from 'node:v8';
import { Packr } from 'msgpackr';
import { decodeValue, encodeValue } from '../src/rpc/codec.js';
import { ROOT } from './lib/machine.js';
import { payload } from './lib/payloads.js';
import { median } from './lib/stats.js';

interface Codec {
  name: string;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
}

const defaultPackr = new Packr();
/** Our options plus structures shared by encoder and decoder (one object here, so it "works"). */
const sharedPackr = new Packr({
  useRecords: true,
  mapsAsObjects: false,
  int64AsType: 'bigint',
  useBigIntExtension: true,
  moreTypes: true,
  structures: [],
});
const CODECS: Codec[] = [
  { name: 'project codec (msgpackr, our options)', encode: encodeValue, decode: decodeValue },
  {
    name: 'msgpackr, default `Packr`',
    encode: (v) => defaultPackr.pack(v),
    decode: (b) => defaultPackr.unpack(b),
  },
  {
    name: 'msgpackr, our options + shared `structures` (upper bound: one `Packr` for both ends)',
    encode: (v) => sharedPackr.pack(v),
    decode: (b) => sharedPackr.unpack(b),
  },
  {
    name: '`v8.serialize` / `deserialize`',
    encode: (v) => v8.serialize(v),
    decode: (b) => v8.deserialize(b),
  },
  {
    name: 'JSON (`stringify` + `Buffer.from`)',
    encode: (v) => Buffer.from(JSON.stringify(v)),
    decode: (b) => JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString()),
  },
];

let sink = 0;

/** ns per encode+decode of one batch of `iterations`. */
function batch(codec: Codec, value: unknown, iterations: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    if (codec.decode(codec.encode(value)) === null) sink++;
  }
  return Number(process.hrtime.bigint() - t0) / iterations;
}

/**
 * Median ns per encode+decode of each codec on `value`. The codecs take turns batch by batch
 * (A B C D A B C D ...), so a slow phase of the machine hits all of them alike; the first round
 * is warm-up.
 */
function timeAll(value: unknown, iterations: number, rounds: number): number[] {
  const samples: number[][] = CODECS.map(() => []);
  for (let r = 0; r <= rounds; r++) {
    CODECS.forEach((codec, i) => {
      const ns = batch(codec, value, iterations);
      if (r > 0) samples[i]?.push(ns);
    });
  }
  return samples.map((s) => median(s));
}

/** Values the contract says must round-trip exactly (DESIGN §3). */
const FIDELITY: [string, unknown][] = [
  ['`undefined` in an object', { a: undefined, b: 1 }],
  ['`Date`', new Date('2024-05-01T12:34:56.789Z')],
  [
    '`Map` (non-string keys)',
    new Map<unknown, unknown>([
      [1, 'a'],
      ['k', { x: 2 }],
    ]),
  ],
  ['`Set`', new Set([1, 'two', 3])],
  ['`BigInt` beyond 64 bits', 2n ** 70n + 1n],
  ['`Uint8Array`', new Uint8Array([0, 1, 2, 250])],
  ['`Map` vs plain object kept apart', { m: new Map([['a', 1]]), o: { a: 1 } }],
];

function roundTrips(codec: Codec, value: unknown): boolean {
  try {
    const back = codec.decode(codec.encode(value));
    if (value instanceof Uint8Array) {
      return back instanceof Uint8Array && Buffer.compare(Buffer.from(back), value) === 0;
    }
    return isDeepStrictEqual(back, value);
  } catch {
    return false;
  }
}

function rejectsFunction(codec: Codec): boolean {
  try {
    codec.encode({ f: () => 1 });
    return false;
  } catch {
    return true;
  }
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const values: [string, unknown][] = [
    ['~64 B object', payload('small')],
    ['~4 KiB object', payload('medium')],
  ];
  const timings = values.map(([, v], i) =>
    timeAll(v, (i === 0 ? 5_000 : 250) * (quick ? 1 : 2), quick ? 7 : 21),
  );
  const perf = [
    `| codec | ${values.map(([n]) => `${n}: ns per encode+decode`).join(' | ')} | ${values.map(([n]) => `${n}: bytes`).join(' | ')} |`,
    `| --- | ${values.map(() => '---').join(' | ')} | ${values.map(() => '---').join(' | ')} |`,
  ];
  for (const [c, codec] of CODECS.entries()) {
    const ns = timings.map((t) => t[c] as number);
    const sizes = values.map(([, v]) => codec.encode(v).length);
    perf.push(
      `| ${codec.name} | ${ns.map((n) => Math.round(n).toLocaleString('en-US')).join(' | ')} | ${sizes.join(' | ')} |`,
    );
  }
  const fid = [
    `| value | ${CODECS.map((c) => c.name).join(' | ')} |`,
    `| --- | ${CODECS.map(() => '---').join(' | ')} |`,
    ...FIDELITY.map(
      ([name, v]) =>
        `| ${name} | ${CODECS.map((c) => (roundTrips(c, v) ? 'yes' : '**no**')).join(' | ')} |`,
    ),
    `| a function is refused (not silently dropped) | ${CODECS.map((c) => (rejectsFunction(c) ? 'yes' : '**no**')).join(' | ')} |`,
  ];
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const section = [
    '<!-- codec-bench:start (generated by `node dist/bench/codec.js`; do not edit by hand) -->',
    '',
    `Measured with \`node dist/bench/codec.js${quick ? ' --quick' : ''}\` on ${cpu}, Node.js ${process.version}, ${new Date().toISOString().slice(0, 10)}. Median of timed batches, the codecs taking turns batch by batch; lower is better.`,
    '',
    ...perf,
    '',
    'Which of the values the contract requires come back exactly (`util.isDeepStrictEqual`):',
    '',
    ...fid,
    '',
    '<!-- codec-bench:end -->',
  ].join('\n');
  console.log(section);
  const docUrl = new URL('docs/explanation/codec.md', ROOT);
  try {
    const doc = readFileSync(docUrl, 'utf8');
    const start = doc.indexOf('<!-- codec-bench:start');
    const end = doc.indexOf('<!-- codec-bench:end -->');
    if (start >= 0 && end > start) {
      const next =
        doc.slice(0, start) + section + doc.slice(end + '<!-- codec-bench:end -->'.length);
      writeFileSync(docUrl, next);
      console.log('\nupdated docs/explanation/codec.md');
    }
  } catch {
    // No doc to update.
  }
  if (sink === -1) console.log(sink);
}

main();
