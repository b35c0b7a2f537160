/**
 * A hand-written SVG timeline: stacked panels sharing one time axis, one polyline per
 * library, vertical markers for events. No dependencies.
 */

export interface Line {
  name: string;
  color: string;
  /** One value per second; `x0` is the time (s) of the first value. */
  values: number[];
  x0: number;
}

export interface Panel {
  title: string;
  /** Logarithmic y axis (values + 1), for counts spanning several orders of magnitude. */
  log?: boolean;
  lines: Line[];
}

export interface Marker {
  x: number;
  label: string;
}

export interface Timeline {
  title: string;
  subtitle?: string;
  xLabel: string;
  xFrom: number;
  xTo: number;
  panels: Panel[];
  markers?: Marker[];
  /** Extra lines under the chart. */
  footer?: string[];
}

export const PALETTE: Record<string, string> = {
  'jwks-keeper': '#1b7f3b',
  jose: '#1f5fbf',
  'jwks-rsa': '#d9480f',
  'jwks-rsa-ratelimit': '#e8a200',
  'aws-jwt-verify': '#7b2cbf',
  'get-jwks': '#c2255c',
};

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number): string => (Math.abs(v) >= 1000 ? `${Math.round(v / 100) / 10}k` : String(Math.round(v * 10) / 10));

export function timelineSvg(t: Timeline): string {
  const W = 980;
  const left = 70;
  const right = 190;
  const subLines = t.subtitle ? wrap(t.subtitle, 125) : [];
  const top = 62 + subLines.length * 16;
  const panelH = 150;
  const gap = 46;
  const plotW = W - left - right;
  const footerH = (t.footer?.length ?? 0) * 16 + 10;
  const H = top + t.panels.length * (panelH + gap) + 20 + footerH;
  const x = (s: number): number => left + ((s - t.xFrom) / (t.xTo - t.xFrom)) * plotW;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="16" font-weight="600" fill="#111">${esc(t.title)}</text>`);
  subLines.forEach((line, i) => out.push(`<text x="${left}" y="${44 + i * 16}" fill="#555">${esc(line)}</text>`));

  // legend (right side), from the first panel's lines
  const names = new Map<string, string>();
  for (const p of t.panels) for (const l of p.lines) names.set(l.name, l.color);
  let ly = top + 10;
  for (const [name, color] of names) {
    out.push(`<line x1="${W - right + 16}" y1="${ly}" x2="${W - right + 40}" y2="${ly}" stroke="${color}" stroke-width="3"/>`);
    out.push(`<text x="${W - right + 46}" y="${ly + 4}" fill="#222">${esc(name)}</text>`);
    ly += 20;
  }

  // x ticks
  const span = t.xTo - t.xFrom;
  const step = span > 120 ? 30 : span > 60 ? 10 : 5;
  t.panels.forEach((p, pi) => {
    const y0 = top + pi * (panelH + gap);
    const yb = y0 + panelH;
    let max = 0;
    for (const l of p.lines) for (const v of l.values) if (v > max) max = v;
    if (max === 0) max = 1;
    const yv = (v: number): number => {
      if (p.log) return yb - (Math.log10(v + 1) / Math.log10(niceLogMax(max) + 1)) * panelH;
      return yb - (v / niceMax(max)) * panelH;
    };
    out.push(`<text x="${left}" y="${y0 - 8}" font-weight="600" fill="#222">${esc(p.title)}${p.log ? ' (log scale)' : ''}</text>`);
    out.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${panelH}" fill="#fafafa" stroke="#ccc"/>`);
    // y grid
    const ticks = p.log ? logTicks(niceLogMax(max)) : linTicks(niceMax(max));
    for (const v of ticks) {
      const yy = yv(v);
      out.push(`<line x1="${left}" y1="${yy.toFixed(1)}" x2="${left + plotW}" y2="${yy.toFixed(1)}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${left - 6}" y="${(yy + 4).toFixed(1)}" text-anchor="end" fill="#666">${fmt(v)}</text>`);
    }
    for (let s = Math.ceil(t.xFrom / step) * step; s <= t.xTo; s += step) {
      out.push(`<line x1="${x(s).toFixed(1)}" y1="${yb}" x2="${x(s).toFixed(1)}" y2="${yb + 4}" stroke="#999"/>`);
      out.push(`<text x="${x(s).toFixed(1)}" y="${yb + 16}" text-anchor="middle" fill="#666">${s}</text>`);
    }
    let prevX = -Infinity;
    let row = 0;
    for (const m of t.markers ?? []) {
      out.push(`<line x1="${x(m.x).toFixed(1)}" y1="${y0}" x2="${x(m.x).toFixed(1)}" y2="${yb}" stroke="#888" stroke-dasharray="4 3"/>`);
      // labels of close markers go on alternate rows
      row = x(m.x) - prevX < 75 ? (row + 1) % 2 : 0;
      prevX = x(m.x);
      if (pi === 0) out.push(`<text x="${(x(m.x) + 4).toFixed(1)}" y="${y0 + 12 + row * 13}" fill="#555" font-size="11">${esc(m.label)}</text>`);
    }
    // the first line (the library of interest) is drawn last, on top
    for (const l of [...p.lines.slice(1), ...p.lines.slice(0, 1)]) {
      const pts: string[] = [];
      l.values.forEach((v, i) => {
        const s = l.x0 + i + 0.5;
        if (s < t.xFrom || s > t.xTo) return;
        pts.push(`${x(s).toFixed(1)},${yv(v).toFixed(1)}`);
      });
      if (pts.length > 0) {
        out.push(`<polyline fill="none" stroke="${l.color}" stroke-width="1.8" stroke-linejoin="round" opacity="0.9" points="${pts.join(' ')}"><title>${esc(l.name)}</title></polyline>`);
      }
    }
  });
  const axisY = top + t.panels.length * (panelH + gap) - gap + 34;
  out.push(`<text x="${left + plotW / 2}" y="${axisY}" text-anchor="middle" fill="#444">${esc(t.xLabel)}</text>`);
  (t.footer ?? []).forEach((f, i) => out.push(`<text x="${left}" y="${axisY + 22 + i * 16}" fill="#555" font-size="11">${esc(f)}</text>`));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
function linTicks(max: number): number[] {
  return [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
}
function niceLogMax(v: number): number {
  return 10 ** Math.ceil(Math.log10(Math.max(v, 1)) + 1e-9);
}
function logTicks(max: number): number[] {
  const out = [0];
  for (let v = 1; v <= max; v *= 10) out.push(v);
  return out;
}
