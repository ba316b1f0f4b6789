import uPlot from 'uplot';
import { api } from '../api.js';
import { content, h, message, replace, select } from '../dom.js';
import { axisDate, errorText, num, t, term, when } from '../i18n.js';

interface Stats {
  buckets: string[];
  byChannel: Record<string, number[]>;
  byLevel: Record<string, number[]>;
  failedSignIns: number[];
  denied: number[];
  topEvents: Array<{ event: string; count: number }>;
  /** `id` (who the pseudonym is) only for the roles that see personal values. */
  topSecuritySources: Array<{ source: string; id?: string; count: number }>;
}

const COLOURS = [
  '#1f5fa8',
  '#b3261e',
  '#1e7b34',
  '#8a4b00',
  '#6a3d9a',
  '#00708a',
  '#8c2a5b',
  '#4d4d4d',
];
const COUNT_STEPS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7,
];
const SPANS: Record<string, { since: string; bucket: string }> = {
  '1h': { since: '1h', bucket: 'minute' },
  '24h': { since: '24h', bucket: 'hour' },
  '7d': { since: '7d', bucket: 'day' },
};

/** A count as the legend shows it: in the page's number format, `—` where there is none. */
const countValue = (_u: uPlot, v: number | null): string => (v === null ? '—' : num(v));

function lineChart(
  title: string,
  x: number[],
  series: Array<[string, number[]]>,
  width: number,
  ticks: 'time' | 'day',
): HTMLElement {
  const fig = h('figure', { class: 'chart' }, h('figcaption', {}, title));
  // uPlot's own words and formats (its `Time`, its US dates) are replaced: the page's language.
  const opts: uPlot.Options = {
    width,
    height: 220,
    series: [
      { label: t('time'), value: (_u, v: number | null) => (v === null ? '—' : when(v * 1000)) },
      ...series.map(([label], i) => ({
        label,
        stroke: COLOURS[i % COLOURS.length] ?? '#000',
        width: 2,
        value: countValue,
      })),
    ],
    axes: [
      { values: (_u, splits) => splits.map((v) => axisDate(v * 1000, ticks)) },
      // Counts: whole steps only (no 0.25 of an event).
      { size: 50, incrs: COUNT_STEPS, values: (_u, splits) => splits.map((v) => num(v)) },
    ],
    scales: { x: { time: true } },
  };
  new uPlot(opts, [x, ...series.map(([, v]) => v)], fig);
  return fig;
}

/** Horizontal bars as <meter> elements: no style needed, and read out by screen readers. */
function bars(
  title: string,
  rows: Array<{ label: string; count: number; title?: string }>,
): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r.count));
  return h(
    'figure',
    { class: 'bars' },
    h('figcaption', {}, title),
    rows.length === 0
      ? h('p', {}, t('none'))
      : h(
          'ul',
          {},
          ...rows.map((r) =>
            h(
              'li',
              {},
              content('span', r.label, { class: 'bar-label', title: r.title }),
              // Its label is record content (an event type, a source): not to be translated.
              h('meter', {
                min: 0,
                max,
                value: r.count,
                'aria-label': `${r.label}: ${num(r.count)}`,
                translate: 'no',
              }),
              h('span', { class: 'bar-count' }, num(r.count)),
            ),
          ),
        ),
  );
}

/**
 * A chart's width: half the dashboard on a wide screen, all of it on a narrow one (the grid
 * of style.css goes to one column under 900 px), less the figure's padding and border.
 */
function chartWidth(grid: HTMLElement): number {
  const columns = window.matchMedia('(max-width: 900px)').matches ? 1 : 2;
  const gap = 16;
  const each = Math.floor((grid.clientWidth - gap * (columns - 1)) / columns) - 18;
  return Math.max(200, Math.min(560, each));
}

export function dashboardView(root: HTMLElement): () => void {
  const span = select(
    'span',
    [
      ['1h', t('last1h')],
      ['24h', t('last24h')],
      ['7d', t('last7d')],
    ],
    '24h',
  );
  span.id = 'dash-span';
  const out = h('div', { class: 'dashboard' });
  const form = h(
    'form',
    { class: 'inline' },
    h('label', { for: 'dash-span' }, t('span')),
    span,
    h('button', { type: 'submit' }, t('refresh')),
  );
  replace(root, h('h1', {}, t('navDashboard')), form, out);
  let alive = true;

  async function load(): Promise<void> {
    replace(out, h('p', {}, t('loading')));
    const s = SPANS[span.value] ?? { since: '24h', bucket: 'hour' };
    try {
      const st = await api<Stats>('GET', `/v1/stats?since=${s.since}&bucket=${s.bucket}`);
      if (!alive) return;
      const x = st.buckets.map((b) => Date.parse(b) / 1000);
      const width = chartWidth(out);
      const ticks = s.bucket === 'day' ? 'day' : 'time';
      const levels = Object.entries(st.byLevel).map(([l, v]): [string, number[]] => [
        term('lvl', l),
        v,
      ]);
      replace(
        out,
        lineChart(t('chartLevels'), x, levels, width, ticks),
        lineChart(t('chartChannels'), x, Object.entries(st.byChannel), width, ticks),
        lineChart(
          t('chartSecurity'),
          x,
          [
            [t('failedSignIns'), st.failedSignIns],
            [t('denied'), st.denied],
          ],
          width,
          ticks,
        ),
        bars(
          t('topEvents'),
          st.topEvents.map((e) => ({ label: e.event, count: e.count })),
        ),
        bars(
          t('topSources'),
          // Who it is for dpo and admin, with the pseudonym (what other views show) on hover.
          st.topSecuritySources.map((e) =>
            e.id === undefined
              ? { label: e.source, count: e.count }
              : { label: e.id, count: e.count, title: e.source },
          ),
        ),
      );
    } catch (err) {
      replace(out, message('error', t('error', { message: errorText(err) })));
    }
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void load();
  });
  void load();
  return () => {
    alive = false;
  };
}
