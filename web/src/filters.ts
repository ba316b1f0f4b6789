import { h, select } from './dom.js';
import { t, term } from './i18n.js';

const LEVELS = ['', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'AUDIT', 'SECURITY'];
const OUTCOMES = ['', 'success', 'failure', 'denied', 'error'];

/** The inputs of the query filters, named as the API's parameters (Explore and Live share them). */
export function filterInputs() {
  return {
    channel: h('input', { name: 'channel', placeholder: 'app, audit' }),
    level: select(
      'level',
      LEVELS.map((l) => [l, l === '' ? '—' : term('lvl', l)]),
    ),
    event: h('input', { name: 'event', placeholder: 'auth.*' }),
    outcome: select(
      'outcome',
      OUTCOMES.map((o) => [o, o === '' ? '—' : term('out', o)]),
    ),
    actor: h('input', { name: 'actor' }),
    subject: h('input', { name: 'subject' }),
    request_id: h('input', { name: 'request_id' }),
    since: h('input', { name: 'since', placeholder: '24h, 2026-01-01T00:00Z' }),
    until: h('input', { name: 'until' }),
    text: h('input', { name: 'text', type: 'search' }),
  };
}

export type FilterInputs = ReturnType<typeof filterInputs>;

/** Each filter's label, in the page's language. */
export function filterLabels(): Record<keyof FilterInputs, string> {
  return {
    channel: t('channel'),
    level: t('level'),
    event: t('eventType'),
    outcome: t('outcome'),
    actor: t('actor'),
    subject: t('subject'),
    request_id: t('requestId'),
    since: t('since'),
    until: t('until'),
    text: t('text'),
  };
}
