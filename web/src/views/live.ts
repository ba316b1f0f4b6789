import { queryString } from '../api.js';
import { content, display, field, h, replace } from '../dom.js';
import { t, term, tn, when } from '../i18n.js';
import { filterInputs, filterLabels } from '../filters.js';

const MAX_SHOWN = 500;

/** Live tail: an EventSource on /v1/tail (the session cookie authenticates it, same origin). */
export function liveView(root: HTMLElement): () => void {
  // The filters of Explore, but time: a live tail starts now.
  const { since: _since, until: _until, ...inputs } = filterInputs();
  const labels = filterLabels();
  const pauseBtn = h(
    'button',
    { type: 'button', class: 'secondary', 'aria-pressed': 'false' },
    t('pause'),
  );
  const counter = h('p', { class: 'count', role: 'status', 'aria-live': 'polite' });
  const state = h('p', { class: 'state' });
  const list = h('ol', { class: 'live', 'aria-label': t('liveEvents') });
  const form = h(
    'form',
    { class: 'filters', 'aria-label': t('liveFilters') },
    ...(Object.keys(inputs) as Array<keyof typeof inputs>).map((k) => field(labels[k], inputs[k])),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, t('start')), pauseBtn),
  );
  replace(root, h('h1', {}, t('navLive')), form, state, counter, list);

  let source: EventSource | undefined;
  let received = 0;
  let paused = false;
  const waiting: Array<Record<string, unknown>> = [];

  function show(r: Record<string, unknown>): void {
    list.prepend(
      h(
        'li',
        { class: 'live-item' },
        h('span', { class: 'mono', title: display(r.ts) }, when(display(r.ts))),
        ' ',
        h(
          'span',
          { class: `level level-${display(r.level).toLowerCase()}` },
          term('lvl', display(r.level)),
        ),
        ' ',
        content('span', `${display(r.channel)} #${display(r.seq)}`),
        ' ',
        content('strong', display(r.event)),
        ' ',
        content('span', display(r.msg), { class: 'msgcell' }),
      ),
    );
    while (list.children.length > MAX_SHOWN) list.lastElementChild?.remove();
  }

  function updateCounter(): void {
    counter.textContent = paused
      ? `${tn('liveReceived', received)} — ${t('livePaused', { count: waiting.length })}`
      : tn('liveReceived', received);
  }

  function start(): void {
    source?.close();
    // Until the new stream is open, say so: what arrives before it is not part of it.
    state.textContent = t('liveConnecting');
    state.className = 'state';
    received = 0;
    waiting.length = 0;
    replace(list);
    updateCounter();
    const q = queryString(
      Object.fromEntries(Object.entries(inputs).map(([k, input]) => [k, input.value])),
    );
    source = new EventSource(`/v1/tail${q === '' ? '' : `?${q}`}`);
    source.addEventListener('open', () => {
      state.textContent = t('liveConnected');
      state.className = 'state ok';
    });
    source.addEventListener('error', () => {
      state.textContent = t('liveDisconnected');
      state.className = 'state bad';
    });
    source.addEventListener('record', (e) => {
      let r: Record<string, unknown>;
      try {
        r = JSON.parse((e as MessageEvent<string>).data) as Record<string, unknown>;
      } catch {
        return;
      }
      received += 1;
      if (paused) {
        waiting.push(r);
        if (waiting.length > MAX_SHOWN) waiting.shift();
      } else show(r);
      updateCounter();
    });
  }

  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? t('resume') : t('pause');
    pauseBtn.setAttribute('aria-pressed', String(paused));
    if (!paused) for (const r of waiting.splice(0)) show(r);
    updateCounter();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    start();
  });
  start();
  return () => source?.close();
}
