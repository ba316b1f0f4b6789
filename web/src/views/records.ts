import { actorText, actorTitle, content, display, h } from '../dom.js';
import { t, term, when } from '../i18n.js';

/** A record as the API returns it. */
export type Rec = Record<string, unknown> & { channel: string; seq: number; hash: string };

// Columns of the results table, with their share of its width (table-layout: fixed, so one
// long value is cut with an ellipsis, never widens its column: style.css `table.records`).
const COLUMNS = [
  ['time', 'col-time'],
  ['channel', 'col-channel'],
  ['seqShort', 'col-seq'],
  ['level', 'col-level'],
  ['eventType', 'col-event'],
  ['outcome', 'col-outcome'],
  ['actor', 'col-actor'],
  ['message', 'col-msg'],
] as const;

// A tooltip shows this much of a long value; the record's panel shows all of it.
const TITLE_MAX = 1000;
const clip = (s: string): string => (s.length > TITLE_MAX ? `${s.slice(0, TITLE_MAX)}…` : s);

/** The results table, empty: its rows go in `tbody`. */
export function recordsTable(tbody: HTMLTableSectionElement): HTMLTableElement {
  return h(
    'table',
    { class: 'records' },
    h('colgroup', {}, ...COLUMNS.map(([, cls]) => h('col', { class: cls }))),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...COLUMNS.map(([key, cls]) =>
          h(
            'th',
            { scope: 'col', class: cls, title: key === 'seqShort' ? t('seq') : undefined },
            t(key),
          ),
        ),
      ),
    ),
    tbody,
  );
}

/** One row: each cell on one line, cut with an ellipsis, its full value in a tooltip. */
export function recordRow(r: Rec, open: () => void): HTMLTableRowElement {
  const level = display(r.level);
  const event = display(r.event);
  const actor = actorText(r.actor);
  const msg = display(r.msg);
  return h(
    'tr',
    {
      tabindex: 0,
      'data-seq': r.seq,
      'data-channel': r.channel,
      'data-event': event,
      onclick: open,
      onkeydown: (e: Event) => {
        // preventDefault: else the same Enter would also press the panel's focused close button.
        if ((e as KeyboardEvent).key === 'Enter') {
          e.preventDefault();
          open();
        }
      },
    },
    h('td', { class: 'cell-time', title: display(r.ts) }, when(display(r.ts))),
    content('td', r.channel, { class: 'cut' }),
    h('td', { class: 'cut' }, r.seq),
    h(
      'td',
      { class: `cut level level-${level.toLowerCase()}` },
      level === '' ? '' : term('lvl', level),
    ),
    content('td', event, { class: 'cut', title: clip(event) }),
    h('td', { class: 'cut' }, display(r.outcome) === '' ? '' : term('out', display(r.outcome))),
    content('td', actor, { class: 'cut actor', title: clip(actorTitle(r.actor)) }),
    content('td', msg, { class: 'cut msgcell', title: clip(msg) }),
  );
}
