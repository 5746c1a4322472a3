/** One minute of a soak: what the chart shows. */
export interface SoakMinute {
  minute: number;
  requests: number;
  p99Ms: number;
  rssMaxMb: number;
  rssMedianMb: number;
  /** The service's CPU time per request answered, and the load generator's. */
  serviceCpuUsPerRequest: number;
  loadCpuUsPerRequest: number;
}

interface Line {
  label: string;
  values: number[];
  colour: string;
}

interface Panel {
  title: string;
  unit: string;
  lines: Line[];
}

const WIDTH = 720;
const PANEL_HEIGHT = 200;
const MARGIN = { top: 36, right: 24, bottom: 36, left: 64 };

/**
 * Two line charts, peak RSS and p99 latency per minute, as a standalone
 * SVG: written by hand because it is two polylines and some text, and a
 * charting library would be the largest dependency of the test suite.
 */
export function soakChart(minutes: SoakMinute[], caption: string): string {
  const panels: Panel[] = [
    {
      title: 'RSS of the service per minute',
      unit: 'MB',
      lines: [
        {
          label: 'peak',
          values: minutes.map(({ rssMaxMb }) => rssMaxMb),
          colour: '#1f6feb',
        },
        {
          label: 'median',
          values: minutes.map(({ rssMedianMb }) => rssMedianMb),
          colour: '#8250df',
        },
      ],
    },
    {
      title: 'p99 latency per minute (all routes)',
      unit: 'ms',
      lines: [
        {
          label: 'p99',
          values: minutes.map(({ p99Ms }) => p99Ms),
          colour: '#d1242f',
        },
      ],
    },
  ];
  const height =
    panels.length * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom) + 24;
  const body = panels
    .map((panel, index) =>
      panelSvg(
        panel,
        minutes.map(({ minute }) => minute),
        index * (PANEL_HEIGHT + MARGIN.top + MARGIN.bottom),
      ),
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    body,
    `<text x="${MARGIN.left}" y="${height - 8}" fill="#57606a">${escapeXml(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function panelSvg(panel: Panel, minutes: number[], top: number): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const maximum = niceCeiling(
    Math.max(...panel.lines.flatMap(({ values }) => values), 1),
  );
  const lastMinute = Math.max(...minutes, 1);
  const x = (minute: number) => MARGIN.left + (minute / lastMinute) * plotWidth;
  const y = (value: number) =>
    top + MARGIN.top + PANEL_HEIGHT - (value / maximum) * PANEL_HEIGHT;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((share) => share * maximum);
  return [
    `<text x="${MARGIN.left}" y="${top + 22}" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`,
    ...ticks.map(
      (tick) =>
        `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(tick)}" y2="${y(tick)}" stroke="#d0d7de"/>` +
        `<text x="${MARGIN.left - 8}" y="${y(tick) + 4}" text-anchor="end" fill="#57606a">${formatTick(tick)} ${panel.unit}</text>`,
    ),
    ...minutes.map(
      (minute) =>
        `<text x="${x(minute)}" y="${top + MARGIN.top + PANEL_HEIGHT + 16}" text-anchor="middle" fill="#57606a">${minute}</text>`,
    ),
    `<text x="${WIDTH - MARGIN.right}" y="${top + MARGIN.top + PANEL_HEIGHT + 30}" text-anchor="end" fill="#57606a">minute</text>`,
    ...panel.lines.flatMap((line, lineIndex) => [
      `<polyline points="${line.values
        .map(
          (value, index) =>
            `${x(minutes[index]).toFixed(1)},${y(value).toFixed(1)}`,
        )
        .join(' ')}" fill="none" stroke="${line.colour}" stroke-width="2"/>`,
      ...line.values.map(
        (value, index) =>
          `<circle cx="${x(minutes[index]).toFixed(1)}" cy="${y(value).toFixed(1)}" r="3" fill="${line.colour}"><title>minute ${minutes[index]}: ${line.label} ${value.toFixed(1)} ${panel.unit}</title></circle>`,
      ),
      `<text x="${WIDTH - MARGIN.right}" y="${top + 22 + lineIndex * 14}" text-anchor="end" fill="${line.colour}">${escapeXml(line.label)}</text>`,
    ]),
  ].join('\n');
}

/** 1, 2 or 5 times a power of ten: axis labels a reader can take in. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((factor) => factor * power >= value) ?? 10;
  return step * power;
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;');
}
