import { api, queryString } from '../api.js';
import { field, h, message, replace } from '../dom.js';
import { errorText, t, tn } from '../i18n.js';
import { filterInputs, filterLabels } from '../filters.js';
import { showRecord } from './record-detail.js';
import { recordRow, recordsTable, type Rec } from './records.js';

/**
 * The service's audit record of each read (docs/service.md): left out unless asked for, else
 * a reader's own searches fill the list. Left out by the service, so pages and counts hold.
 */
const READ_EVENT = 'log.read';

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
  const showReads = h('input', { type: 'checkbox', name: 'show_reads', id: 'show-reads' });
  showReads.addEventListener('change', () => void search());
  const form = h(
    'form',
    { class: 'filters', 'aria-label': t('filters') },
    ...FILTERS.map((k) => field(labels[k], inputs[k])),
    h('div', { class: 'toggle' }, showReads, h('label', { for: 'show-reads' }, t('showReads'))),
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
    recordsTable(tbody),
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
  let lastReads = false;

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
        // An event type asked for is shown, log.read included.
        exclude_event: lastReads || (lastFilter.event ?? '').trim() !== '' ? undefined : READ_EVENT,
        limit: '100',
        ...(cursor === null ? {} : { cursor }),
      });
      const page = await api<Page>('GET', `/v1/events?${q}`);
      if (gen !== generation) return;
      for (const r of page.records) tbody.append(recordRow(r, () => open(r)));
      loaded += page.records.length;
      next = page.next;
      const dmg = page.damaged.length > 0 ? ` — ${tn('damaged', page.damaged.length)}` : '';
      status.textContent =
        loaded === 0
          ? t('noResults')
          : `${tn('loadedCount', loaded)}${next === null ? ` — ${t('endOfResults')}` : ''}${dmg}`;
    } catch (err) {
      if (gen === generation)
        replace(status, message('error', t('error', { message: errorText(err) })));
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
    lastReads = showReads.checked;
    results.setAttribute('aria-busy', 'true');
    replace(tbody);
    status.textContent = t('loading');
    return load(null);
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

  function open(r: Rec): void {
    showRecord(panel, r, { filter: applyFilter, close: closeDetail });
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
