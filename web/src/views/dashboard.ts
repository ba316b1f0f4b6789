import uPlot from 'uplot';
import { api } from '../api.js';
import { h, message, replace, select } from '../dom.js';
import { t } from '../i18n.js';

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
const SPANS: Record<string, { since: string; bucket: string }> = {
  '1h': { since: '1h', bucket: 'minute' },
  '24h': { since: '24h', bucket: 'hour' },
  '7d': { since: '7d', bucket: 'day' },
};

function lineChart(
  title: string,
  x: number[],
  series: Array<[string, number[]]>,
  width: number,
): HTMLElement {
  const fig = h('figure', { class: 'chart' }, h('figcaption', {}, title));
  const opts: uPlot.Options = {
    width,
    height: 220,
    series: [
      {},
      ...series.map(([label], i) => ({
        label,
        stroke: COLOURS[i % COLOURS.length] ?? '#000',
        width: 2,
      })),
    ],
    axes: [{}, { size: 50 }],
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
              h('span', { class: 'bar-label', title: r.title }, r.label),
              h('meter', { min: 0, max, value: r.count, 'aria-label': `${r.label}: ${r.count}` }),
              h('span', { class: 'bar-count' }, r.count),
            ),
          ),
        ),
  );
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
      const width = Math.max(320, Math.min(560, Math.floor((root.clientWidth - 48) / 2)));
      replace(
        out,
        lineChart(t('chartLevels'), x, Object.entries(st.byLevel), width),
        lineChart(t('chartChannels'), x, Object.entries(st.byChannel), width),
        lineChart(
          t('chartSecurity'),
          x,
          [
            [t('failedSignIns'), st.failedSignIns],
            [t('denied'), st.denied],
          ],
          width,
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
      replace(out, message('error', t('error', { message: (err as Error).message })));
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
