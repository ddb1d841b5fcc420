// The run as markdown (results/latest.md, and the generated part of docs/benchmarks.md) and as
// an SVG chart.
import { COLORS, type Panel, renderChart } from './chart';
import { type Curve, find, med, type Results, type Row, type Section, targets } from './results';

const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : 'n/a');
const dec = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a');
const load = (l: readonly number[]) => l.map((v) => v.toFixed(2)).join(' / ');

function sectionTable(s: Section, reference = 'rlf'): string {
  const ref = med(find(s, reference), 'checksPerSecond');
  let out =
    '| implementation | checks/s | vs rate-limiter-flexible | p50 ms | p99 ms | Redis cmds/check | Redis calls/check (incl. in scripts) | Redis socket reads/check | Node CPU µs/check | Redis CPU µs/check | allowed | errors |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n';
  for (const row of s.rows) {
    const m = (k: Parameters<typeof med>[1]) => med(row, k);
    const name = row.kind === 'ours' ? `**${row.label}**` : row.label;
    const errors = row.rounds.reduce((n, r) => n + r.errors, 0);
    const crossCheck = Math.abs(m('commandsPerCheck') - m('sentPerCheck')) > 0.05 * Math.max(1, m('sentPerCheck')) && row.kind !== 'ceiling' ? ' †' : '';
    out +=
      `| ${name} | ${int(m('checksPerSecond'))} | ${ratio(m('checksPerSecond') / ref)} | ${dec(m('p50Ms'))} | ${dec(m('p99Ms'))} | ` +
      `${dec(m('commandsPerCheck'))}${crossCheck} | ${dec(m('redisCallsPerCheck'))} | ${dec(m('redisReadsPerCheck'))} | ${dec(m('nodeCpuUsPerCheck'), 1)} | ${dec(m('redisCpuUsPerCheck'), 1)} | ` +
      `${row.kind === 'ceiling' ? 'n/a' : `${dec(m('allowedShare') * 100, 1)}%`} | ${errors}${errors ? ` (${row.rounds.find((r) => r.firstError)?.firstError ?? ''})` : ''} |\n`;
  }
  return out;
}

function roundsLine(s: Section): string {
  const by = s.rows.map((r) => `${r.id} ${r.rounds.map((x) => int(x.checksPerSecond)).join(', ')}`);
  return `checks/s per round: ${by.join('; ')}.`;
}

function curveTable(c: Curve): string {
  const ids = [...new Set(c.points.flatMap((p) => p.rows.map((r) => r.id)))];
  const label = (id: string) => c.points.flatMap((p) => p.rows).find((r) => r.id === id)!.label;
  let out = `| ${c.xLabel} | ${ids.map(label).join(' | ')} | Redis used_memory after |\n|---:|${ids.map(() => '---:').join('|')}|---:|\n`;
  for (const p of c.points) {
    const cells = ids.map((id) => {
      const row = find(p, id);
      return row ? `${int(med(row, 'checksPerSecond'))} (p99 ${dec(med(row, 'p99Ms'), 1)} ms)` : 'n/a';
    });
    out += `| ${int(p.x)} | ${cells.join(' | ')} | ${p.note ?? `${dec(p.usedMemory / 2 ** 20, 0)} MB`} |\n`;
  }
  return out;
}

function memoryTable(r: Results): string {
  let out =
    '| algorithm | keys per identifier | bytes per identifier (1 call) | bytes per log entry, listpack | bytes per log entry, skiplist | log encoding by entries |\n' +
    '|---|---:|---:|---:|---:|---|\n';
  for (const m of r.memory) {
    const first = m.points[0];
    const encodings = m.points.length > 1 ? m.points.map((p) => `${p.entries}: ${p.encoding} (${int(p.bytesPerIdentifier)} B)`).join(', ') : (first?.encoding ?? '');
    out += `| ${m.label} | ${dec(first?.keys ?? Number.NaN, 0)} | ${int(first?.bytesPerIdentifier ?? Number.NaN)} | ${m.perEntryListpack === undefined ? '' : dec(m.perEntryListpack, 1)} | ${m.perEntrySkiplist === undefined ? '' : dec(m.perEntrySkiplist, 1)} | ${encodings} |\n`;
  }
  return out;
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const s = r.steady;
  let out = `Run ${r.startedAt} to ${r.finishedAt}${r.quick ? ' (**quick mode**: too short to compare)' : ''}; ${r.rounds} rounds per row, implementations interleaved (the order rotates each round), medians of rounds; seed ${r.seed}.\n\n`;
  out += `Machine: ${m.cores} x ${m.cpu}, ${dec(m.memoryGb, 1)} GB, ${m.os}; Node ${m.node}; Redis ${m.redis} at ${m.redisUrl} (zset-max-listpack-entries ${m.zsetMaxListpackEntries}).\n`;
  out += `Load average (1 / 5 / 15 min): ${load(r.loadStart)} at the start, ${load(r.loadEnd)} at the end. `;
  out += `On a ${m.cores}-core machine a load above ${m.cores} means other work shared the CPUs with Node and Redis: figures from a loaded machine are orientation only.\n\n`;

  if (s) out += `### Steady workload\n\n${s.description} Load average ${load(s.loadStart)} at its start, ${load(s.loadEnd)} at its end.\n\n${sectionTable(s)}\n`;
  if (s) out += `Redis cmds/check: top-level commands per check from INFO commandstats (FCALL or EVALSHA, or MULTI + 4 + EXEC sent together in one network round trip), not those run inside scripts; "Redis calls/check" counts those too (INFO total_commands_processed). † the client-side count differs from INFO by more than 5%: other clients used Redis meanwhile. CPU is per check: Node from process.cpuUsage(), Redis from INFO cpu (whole server, so other clients count too). ${roundsLine(s)}\n\n`;

  if (r.hot) out += `### Hot workload\n\n${r.hot.description} Load average ${load(r.hot.loadStart)} at its start, ${load(r.hot.loadEnd)} at its end.\n\n${sectionTable(r.hot)}\n${roundsLine(r.hot)}\n\n`;
  if (r.inFlight) out += `### Throughput against calls in flight\n\n${r.inFlight.fixed}\n\n${curveTable(r.inFlight)}\n`;
  if (r.identifiers) out += `### Throughput against identifiers\n\n${r.identifiers.fixed}\n\n${curveTable(r.identifiers)}\n`;
  if (r.cluster) out += `### Redis Cluster\n\n${r.cluster.description} Load average ${load(r.cluster.loadStart)} at its start, ${load(r.cluster.loadEnd)} at its end.\n\n${sectionTable(r.cluster)}\n${roundsLine(r.cluster)}\n\n`;

  out += `### Redis memory\n\nMEMORY USAGE (SAMPLES 0) of every key an identifier has, after its calls, averaged over identifiers; per-entry figures are the slope between entry counts (listpack: 16 to 128 entries; skiplist: 256 to 1,024).\n\n${memoryTable(r)}\n`;
  if (r.boards) {
    out += `Top-consumer boards (the limiter's \`topConsumers\`, on by default): ${int(r.boards.bytes)} bytes in all after ${int(r.boards.identifiers)} identifiers made one call each (${r.boards.bytesPerIdentifier.toFixed(2)} per identifier). A flush writes only its heaviest identifiers (\`perFlush\`, 100) and each board keeps its \`boardSize\` (1,000) largest, so the boards' memory is bounded whatever the number of identifiers.\n\n`;
  }

  out += `### Targets\n\n| target | goal | this run | met | the same ratio from CPU per check |\n|---|---:|---:|---|---:|\n`;
  for (const t of targets(r)) {
    const actual = t.kind === 'ratio' ? (t.name.startsWith('no cliff') ? dec(t.actual) : ratio(t.actual)) : `${dec(t.actual, 1)} B`;
    const goal = t.kind === 'ratio' ? (t.name.startsWith('no cliff') ? `>= ${t.goal}` : `>= ${t.goal}x`) : `<= ${t.goal} B`;
    out += `| ${t.name} | ${goal} | ${actual} | ${t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**'} | ${t.byCpu === undefined ? '' : ratio(t.byCpu)} |\n`;
  }
  out += `\nThe last column divides the reference row's CPU per check (Node + Redis; rate-limiter-flexible's, or for the anomaly counters the same plan's without them) by the row's: what the throughput ratio tends to when the CPUs are the limit, and much steadier than checks/s when other work shares the machine.\n`;
  return out;
}

/** Row names short enough for the chart. */
const SHORT: Readonly<Record<string, string>> = {
  'ours-log': 'this project: sliding log',
  'ours-window': 'this project: sliding-window counter',
  'ours-plan3': 'this project: three-limit plan',
  'ours-plan3-plain': 'this project: three-limit plan, no anomalies',
  'ours-plan3-shared': 'this project: creator plan + shared budget',
  'ours-log-lean': 'this project: log, boards/controls off',
  rlf: 'rate-limiter-flexible',
  'rlf-block': 'rate-limiter-flexible + in-memory block',
  upstash: '@upstash/ratelimit',
  multi: 'plain MULTI sorted set',
  'minimal-log': 'reference: minimal log script',
  'ceiling-p1': 'ceiling: redis-benchmark',
  'ceiling-p16': 'ceiling: redis-benchmark -P 16',
};
const short = (row: Row) => SHORT[row.id] ?? row.label;
/** One colour per implementation in every chart. */
const colorOf = (id: string) => COLORS[Math.max(0, Object.keys(SHORT).indexOf(id)) % COLORS.length]!;

const bar = (rows: readonly Row[]) => rows.map((row) => ({ label: short(row), value: med(row, 'checksPerSecond'), highlight: row.kind === 'ours' }));

function linePanel(title: string, c: Curve): Panel {
  const ids = [...new Set(c.points.flatMap((p) => p.rows.map((r) => r.id)))];
  return {
    title,
    unit: 'checks/s',
    xLabel: c.xLabel,
    series: ids.map((id) => ({
      label: short(c.points.flatMap((p) => p.rows).find((r) => r.id === id)!),
      color: colorOf(id),
      points: c.points.map((p) => [p.x, med(find(p, id), 'checksPerSecond')] as const),
    })),
  };
}

export function renderSvg(r: Results): string {
  const panels: Panel[] = [];
  if (r.steady) panels.push({ title: `Steady: ${r.steady.inFlight} in flight, ${int(r.steady.identifiers)} identifiers`, unit: 'checks/s, median of rounds', bars: bar(r.steady.rows) });
  if (r.hot) panels.push({ title: `Hot: ${int(r.hot.identifiers)} identifiers, mostly denied`, unit: 'checks/s, median of rounds', bars: bar(r.hot.rows) });
  if (r.inFlight) panels.push(linePanel('Throughput against calls in flight', r.inFlight));
  if (r.identifiers) panels.push(linePanel('Throughput against identifiers', r.identifiers));
  if (r.cluster) panels.push({ title: `Redis Cluster (3 masters): ${r.cluster.inFlight} in flight, ${int(r.cluster.identifiers)} identifiers`, unit: 'checks/s, median of rounds', bars: bar(r.cluster.rows) });
  const load1 = r.loadStart[0] ?? Number.NaN;
  return renderChart(
    '@airl/ratelimit benchmark',
    `${r.startedAt.slice(0, 16).replace('T', ' ')} UTC; ${r.machine.cores} x ${r.machine.cpu}; Redis ${r.machine.redis}; load average ${dec(load1)} at start${r.quick ? '; quick mode' : ''}`,
    panels,
  );
}
