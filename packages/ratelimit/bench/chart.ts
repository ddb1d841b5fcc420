// A small SVG writer for the results: horizontal bars and log-x line charts. Written here rather
// than taken from a charting library: about a hundred lines, no dependency, no native build
// (PNG output would need canvas or a headless browser), and the same input always gives the
// same file, so a diff of results shows what changed.

export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Drawn in the accent colour (this project's rows). */
  readonly highlight?: boolean;
}

export interface Series {
  readonly label: string;
  /** CSS colour; by default the next of a fixed palette. */
  readonly color?: string;
  readonly points: readonly (readonly [x: number, y: number])[];
}

export interface Panel {
  readonly title: string;
  readonly unit: string;
  readonly bars?: readonly Bar[];
  readonly series?: readonly Series[];
  /** Log-scale x axis label for line charts. */
  readonly xLabel?: string;
}

export const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#0d9488', '#ca8a04'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toFixed(1)}`);
const finite = (n: number) => (Number.isFinite(n) ? n : 0);

/** A round axis maximum: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return ([1, 2, 5, 10].find((m) => m * p >= max) ?? 10) * p;
}

function bars(p: Panel, x: number, y: number, w: number, h: number): string {
  const rows = p.bars ?? [];
  const labelW = 290;
  const plotW = w - labelW - 70;
  const rowH = Math.min(26, (h - 40) / Math.max(1, rows.length));
  const max = niceMax(Math.max(...rows.map((r) => finite(r.value))));
  let out = '';
  rows.forEach((r, i) => {
    const ry = y + 30 + i * rowH;
    const bw = (finite(r.value) / max) * plotW;
    out += `<text x="${x + labelW - 8}" y="${ry + rowH * 0.65}" text-anchor="end" font-size="12" ${FONT}>${esc(r.label)}</text>`;
    out += `<rect x="${x + labelW}" y="${ry + 3}" width="${bw.toFixed(1)}" height="${(rowH - 6).toFixed(1)}" fill="${r.highlight ? COLORS[0] : '#9ca3af'}"/>`;
    out += `<text x="${(x + labelW + bw + 5).toFixed(1)}" y="${ry + rowH * 0.65}" font-size="11" ${FONT}>${fmt(finite(r.value))}</text>`;
  });
  return out;
}

function lines(p: Panel, x: number, y: number, w: number, h: number): string {
  const series = p.series ?? [];
  const all = series.flatMap((s) => s.points).filter(([px, py]) => px > 0 && Number.isFinite(py));
  if (all.length === 0) return '';
  const left = x + 60;
  const top = y + 30;
  const plotW = w - 80 - 250;
  const plotH = h - 75;
  const xs = all.map(([px]) => Math.log10(px));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const max = niceMax(Math.max(...all.map(([, py]) => py)));
  const sx = (v: number) => left + (x1 === x0 ? plotW / 2 : ((Math.log10(v) - x0) / (x1 - x0)) * plotW);
  const sy = (v: number) => top + plotH - (v / max) * plotH;
  let out = `<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="#6b7280"/>`;
  out += `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="#6b7280"/>`;
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out += `<text x="${left - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="11" ${FONT}>${fmt(v)}</text>`;
    if (i > 0) out += `<line x1="${left}" y1="${sy(v)}" x2="${left + plotW}" y2="${sy(v)}" stroke="#e5e7eb"/>`;
  }
  for (const px of [...new Set(all.map(([px]) => px))]) {
    out += `<text x="${sx(px)}" y="${top + plotH + 16}" text-anchor="middle" font-size="11" ${FONT}>${fmt(px)}</text>`;
  }
  out += `<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle" font-size="12" ${FONT}>${esc(p.xLabel ?? '')}</text>`;
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length]!;
    const pts = s.points.filter(([px, py]) => px > 0 && Number.isFinite(py));
    out += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map(([px, py]) => `${sx(px).toFixed(1)},${sy(py).toFixed(1)}`).join(' ')}"/>`;
    for (const [px, py] of pts) out += `<circle cx="${sx(px).toFixed(1)}" cy="${sy(py).toFixed(1)}" r="3" fill="${color}"/>`;
    const ly = top + 10 + i * 18;
    out += `<rect x="${left + plotW + 15}" y="${ly - 8}" width="12" height="3" fill="${color}"/>`;
    out += `<text x="${left + plotW + 32}" y="${ly - 3}" font-size="11" ${FONT}>${esc(s.label)}</text>`;
  });
  return out;
}

/** Panels stacked vertically in one SVG, `width` wide; bar panels size to their rows. */
export function renderChart(title: string, subtitle: string, panels: readonly Panel[], width = 980): string {
  let y = 56;
  let body = '';
  for (const p of panels) {
    const h = p.bars ? 50 + p.bars.length * 26 : 300;
    body += `<text x="20" y="${y + 14}" font-size="15" font-weight="600" ${FONT}>${esc(p.title)} <tspan font-weight="400" fill="#4b5563">(${esc(p.unit)})</tspan></text>`;
    body += p.bars ? bars(p, 10, y, width - 20, h) : lines(p, 10, y, width - 20, h);
    y += h + 20;
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="20" y="28" font-size="18" font-weight="700" ${FONT}>${esc(title)}</text>` +
    `<text x="20" y="46" font-size="12" fill="#4b5563" ${FONT}>${esc(subtitle)}</text>` +
    body +
    `</svg>\n`
  );
}
