import { api, queryString } from '../api.js';
import { display, field, h, message, replace } from '../dom.js';
import { t } from '../i18n.js';
import { filterInputs, filterLabels } from '../filters.js';
import { verifyInclusion, type Checkpoint, type InclusionProof } from '../proof.js';

type Rec = Record<string, unknown> & { channel: string; seq: number; hash: string };
interface Page {
  records: Rec[];
  next: string | null;
  damaged: Array<{ channel: string; seq: number; status: string }>;
}

const FILTERS = [
  'channel',
  'level',
  'event',
  'outcome',
  'actor',
  'subject',
  'request_id',
  'since',
  'until',
  'text',
] as const;
type Filter = Partial<Record<(typeof FILTERS)[number], string>>;

/** Filters another view asked for (a link from a record to all events of its actor). */
let pending: Filter | undefined;
export function exploreWith(f: Filter): void {
  pending = f;
  location.hash = '#explore';
}

export function exploreView(root: HTMLElement): () => void {
  const inputs = filterInputs();
  const labels = filterLabels();
  const quick = (label: string, since: string): HTMLButtonElement =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: () => {
          inputs.since.value = since;
          inputs.until.value = '';
          void search();
        },
      },
      label,
    );
  const form = h(
    'form',
    { class: 'filters', 'aria-label': t('filters') },
    ...FILTERS.map((k) => field(labels[k], inputs[k])),
    h(
      'div',
      { class: 'quick', role: 'group', 'aria-label': t('quickPicks') },
      quick(t('last15m'), '15m'),
      quick(t('last1h'), '1h'),
      quick(t('last24h'), '24h'),
      quick(t('last7d'), '7d'),
    ),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit' }, t('search')),
      h('button', { type: 'reset', class: 'secondary' }, t('reset')),
    ),
  );
  const status = h('p', { class: 'count', role: 'status' });
  const tbody = h('tbody');
  const sentinel = h('div', { class: 'sentinel' });
  const results = h(
    'div',
    { class: 'results', tabindex: 0, 'aria-label': t('results') },
    h(
      'table',
      { class: 'records' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            t('time'),
            t('channel'),
            t('seq'),
            t('level'),
            t('eventType'),
            t('outcome'),
            t('actor'),
            t('message'),
          ].map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      tbody,
    ),
    sentinel,
  );
  const panel = h('aside', { class: 'detail', 'aria-label': t('detail'), hidden: true });
  replace(
    root,
    h('h1', {}, t('navExplore')),
    form,
    h('div', { class: 'explore' }, h('section', { class: 'list' }, status, results), panel),
  );

  let next: string | null = null;
  let loading = false;
  let loaded = 0;
  let generation = 0;
  let lastFilter: Filter = {};

  function current(): Filter {
    const f: Filter = {};
    for (const k of FILTERS) f[k] = inputs[k].value;
    return f;
  }

  async function load(cursor: string | null): Promise<void> {
    const gen = generation;
    loading = true;
    try {
      // Later pages keep the filter of the first, whatever the form says now.
      const q = queryString({
        ...lastFilter,
        limit: '100',
        ...(cursor === null ? {} : { cursor }),
      });
      const page = await api<Page>('GET', `/v1/events?${q}`);
      if (gen !== generation) return;
      for (const r of page.records) tbody.append(row(r));
      loaded += page.records.length;
      next = page.next;
      const dmg =
        page.damaged.length > 0 ? ` — ${t('damaged', { count: page.damaged.length })}` : '';
      status.textContent =
        loaded === 0
          ? t('noResults')
          : `${t('loadedCount', { count: loaded })}${next === null ? ` — ${t('endOfResults')}` : ''}${dmg}`;
    } catch (err) {
      if (gen === generation)
        replace(status, message('error', t('error', { message: (err as Error).message })));
    } finally {
      if (gen === generation) {
        loading = false;
        results.setAttribute('aria-busy', 'false');
      }
    }
  }

  function search(): Promise<void> {
    generation += 1;
    next = null;
    loaded = 0;
    loading = false;
    lastFilter = current();
    results.setAttribute('aria-busy', 'true');
    replace(tbody);
    status.textContent = t('loading');
    return load(null);
  }

  function row(r: Rec): HTMLTableRowElement {
    const open = (): void => showDetail(r);
    const tr = h(
      'tr',
      {
        tabindex: 0,
        'data-seq': r.seq,
        'data-channel': r.channel,
        onclick: open,
        onkeydown: (e: Event) => {
          // preventDefault: else the same Enter would also press the panel's focused close button.
          if ((e as KeyboardEvent).key === 'Enter') {
            e.preventDefault();
            open();
          }
        },
      },
      h('td', {}, display(r.ts)),
      h('td', {}, r.channel),
      h('td', {}, r.seq),
      h('td', { class: `level level-${display(r.level).toLowerCase()}` }, display(r.level)),
      h('td', {}, display(r.event)),
      h('td', {}, display(r.outcome)),
      h('td', {}, display(r.actor)),
      h('td', { class: 'msgcell' }, display(r.msg)),
    );
    return tr;
  }

  function showDetail(r: Rec): void {
    const proofOut = h('p', { role: 'status', class: 'proof' });
    const actor = display(r.actor);
    const requestId = display(r.request_id);
    const closeBtn = h(
      'button',
      { type: 'button', class: 'secondary', onclick: closeDetail },
      t('close'),
    );
    replace(
      panel,
      h(
        'div',
        { class: 'detail-head' },
        h('h2', {}, `${t('detail')} ${r.channel} #${r.seq}`),
        closeBtn,
      ),
      h('h3', {}, t('chainPosition')),
      h(
        'dl',
        {},
        h('dt', {}, t('channel')),
        h('dd', {}, r.channel),
        h('dt', {}, t('seq')),
        h('dd', {}, r.seq),
        h('dt', {}, t('hash')),
        h('dd', { class: 'mono' }, display(r.hash)),
      ),
      h(
        'div',
        { class: 'buttons' },
        h(
          'button',
          { type: 'button', onclick: () => void checkProof(r, proofOut) },
          t('checkProof'),
        ),
        actor === ''
          ? null
          : h(
              'button',
              {
                type: 'button',
                class: 'secondary link-actor',
                onclick: () => applyFilter({ actor }),
              },
              t('eventsOfActor'),
            ),
        requestId === ''
          ? null
          : h(
              'button',
              {
                type: 'button',
                class: 'secondary link-request',
                onclick: () => applyFilter({ request_id: requestId }),
              },
              t('eventsOfRequest'),
            ),
      ),
      proofOut,
      h('h3', {}, t('allFields')),
      h('pre', { class: 'json', tabindex: 0 }, JSON.stringify(r, null, 2)),
    );
    panel.hidden = false;
    closeBtn.focus();
  }

  function closeDetail(): void {
    panel.hidden = true;
    replace(panel);
  }

  function applyFilter(f: Filter): void {
    for (const k of FILTERS) inputs[k].value = f[k] ?? '';
    closeDetail();
    void search();
  }

  async function checkProof(r: Rec, out: HTMLElement): Promise<void> {
    out.className = 'proof';
    out.textContent = t('proofChecking');
    try {
      const res = await api<{
        proof: InclusionProof;
        checkpoint: Checkpoint | null;
        public_key: string;
      }>('GET', `/v1/proofs/inclusion?${queryString({ channel: r.channel, seq: String(r.seq) })}`);
      const v = await verifyInclusion(res.proof, res.checkpoint, r.hash, res.public_key);
      out.className = v.ok ? 'proof ok' : 'proof bad';
      out.textContent = v.ok
        ? t('proofOk', { size: res.proof.tree_size, root: res.proof.root.slice(0, 16) })
        : t('proofFailed', { reason: v.reason ?? '' });
    } catch (err) {
      out.className = 'proof bad';
      out.textContent = t('proofFailed', { reason: (err as Error).message });
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void search();
  });
  form.addEventListener('reset', () => setTimeout(() => void search(), 0));
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape' && !panel.hidden) closeDetail();
  };
  document.addEventListener('keydown', onKey);
  const observer = new IntersectionObserver(
    (entries) => {
      if (entries.some((e) => e.isIntersecting) && !loading && next !== null) void load(next);
    },
    { root: results, rootMargin: '200px' },
  );
  observer.observe(sentinel);

  if (pending !== undefined) {
    const f = pending;
    pending = undefined;
    for (const k of FILTERS) inputs[k].value = f[k] ?? '';
  }
  void search();
  return () => {
    generation += 1;
    observer.disconnect();
    document.removeEventListener('keydown', onKey);
  };
}
