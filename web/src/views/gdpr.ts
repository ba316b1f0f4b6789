import { api } from '../api.js';
import { content, field, h, message, replace, select, table } from '../dom.js';
import { basis, errorText, isKey, num, t, term, tn, tnParts, when } from '../i18n.js';

interface Request {
  requestId: string;
  kind: string;
  received: string;
  deadline: string;
  status: string;
  subject?: string;
  records?: number;
  reason?: string;
  dueAt?: string;
}
interface EraseReport {
  requestId: string;
  status: string;
  dryRun: boolean;
  dueAt?: string;
  duties: Array<{ channel: string; basis: string; records: number; until: string }>;
  now: { keys: number; indexRows: number; exports: string[] };
  unknownIds: number;
}

const FINISHED = new Set(['done', 'exported', 'erased', 'nothing', 'completed']);
const EXPORT_ID = /^[\w-]{1,80}$/;

const subjectsOf = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export function gdprView(root: HTMLElement): () => void {
  const register = h('section', { 'aria-labelledby': 'gdpr-register' });
  // Export
  const exSubjects = h('input', { name: 'subject', required: true });
  const exFormat = select(
    'format',
    [
      ['json', 'JSON'],
      ['csv', 'CSV'],
    ],
    'json',
  );
  const exReason = h('input', { name: 'reason' });
  const exOut = h('div', { role: 'status' });
  const exForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'gdpr-export' },
    h('h2', { id: 'gdpr-export' }, t('newExport')),
    field(t('subjects'), exSubjects),
    field(t('format'), exFormat),
    field(t('reason'), exReason),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, t('exportRun'))),
    exOut,
  );
  // Erasure
  const erSubjects = h('input', { name: 'subject', required: true });
  const erReason = h('input', { name: 'reason', required: true });
  const erOut = h('div', { role: 'status' });
  const erForm = h(
    'form',
    { class: 'card', 'aria-labelledby': 'gdpr-erase' },
    h('h2', { id: 'gdpr-erase' }, t('newErasure')),
    field(t('subjects'), erSubjects),
    field(t('reason'), erReason),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, t('preview'))),
    erOut,
  );
  replace(root, h('h1', {}, t('navGdpr')), register, h('div', { class: 'cards' }, exForm, erForm));
  let alive = true;

  async function loadRegister(): Promise<void> {
    try {
      const { requests } = await api<{ requests: Request[] }>('GET', '/v1/gdpr/requests');
      if (!alive) return;
      const now = Date.now();
      replace(
        register,
        h('h2', { id: 'gdpr-register' }, t('register')),
        table(
          [
            t('id'),
            t('kind'),
            t('received'),
            t('deadline'),
            t('status'),
            t('subject'),
            t('records'),
          ],
          requests.map((r) => {
            const late = !FINISHED.has(r.status) && Date.parse(r.deadline) < now;
            return h(
              'tr',
              { class: late ? 'late' : '' },
              content('td', r.requestId, { class: 'mono' }),
              h('td', {}, term('kind', r.kind)),
              h('td', {}, when(r.received)),
              h(
                'td',
                {},
                when(r.deadline),
                late ? h('strong', { class: 'badge bad' }, ` ${t('late')}`) : null,
              ),
              h('td', {}, term('st', r.status)),
              content('td', r.subject ?? ''),
              h('td', {}, r.records === undefined ? '' : num(r.records)),
            );
          }),
        ),
      );
    } catch (err) {
      replace(register, message('error', t('error', { message: errorText(err) })));
    }
  }

  exForm.addEventListener('submit', (e) => {
    e.preventDefault();
    replace(exOut, t('loading'));
    void api<{ requestId: string; records: number }>('POST', '/v1/gdpr/exports', {
      subject: subjectsOf(exSubjects.value),
      format: exFormat.value,
      ...(exReason.value === '' ? {} : { reason: exReason.value }),
    }).then(
      (r) => {
        replace(
          exOut,
          message('ok', tn('exportDone', r.records, { id: r.requestId, records: r.records })),
          EXPORT_ID.test(r.requestId)
            ? h(
                'a',
                {
                  href: `/v1/gdpr/exports/${encodeURIComponent(r.requestId)}`,
                  download: `${r.requestId}.tar`,
                  class: 'download',
                },
                t('download'),
              )
            : null,
        );
        void loadRegister();
      },
      (err: unknown) => replace(exOut, message('error', t('error', { message: errorText(err) }))),
    );
  });

  function report(r: EraseReport): HTMLElement {
    const explain = `explain_${r.status}`;
    return h(
      'ul',
      { class: 'report' },
      h(
        'li',
        {},
        r.dryRun && isKey(explain)
          ? t('erasureWillBe', { status: term('st', r.status), explain: t(explain) })
          : t('erasureStatus', { status: term('st', r.status) }),
      ),
      r.dryRun ? null : h('li', {}, t('keysNow', { count: r.now.keys })),
      h('li', {}, t(r.dryRun ? 'rowsWill' : 'rowsNow', { count: r.now.indexRows })),
      h('li', {}, t(r.dryRun ? 'exportsWill' : 'exportsNow', { count: r.now.exports.length })),
      h('li', {}, t('unknownIds', { count: r.unknownIds })),
      r.dueAt === undefined ? null : h('li', {}, t('dueAt', { when: when(r.dueAt) })),
      ...r.duties.map((d) => {
        // A default duty's basis is translated; one the operator wrote is shown as written.
        const b = basis(d.basis);
        return h(
          'li',
          {},
          ...tnParts('duty', d.records, {
            channel: content('span', d.channel),
            basis: b.translated ? b.text : content('span', b.text),
            records: d.records,
            until: when(d.until),
          }),
        );
      }),
    );
  }

  erForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { subject: subjectsOf(erSubjects.value), reason: erReason.value };
    replace(erOut, t('loading'));
    void api<EraseReport>('POST', '/v1/gdpr/erasures', { ...body, dry_run: true }).then(
      (dry) => {
        const confirmBtn = h('button', { type: 'button', class: 'danger' }, t('confirmErase'));
        const cancelBtn = h('button', { type: 'button', class: 'secondary' }, t('cancel'));
        replace(
          erOut,
          h(
            'div',
            { class: 'confirm', role: 'alertdialog', 'aria-labelledby': 'dry-title' },
            h('h3', { id: 'dry-title' }, t('dryRunTitle')),
            report(dry),
            h('div', { class: 'buttons' }, confirmBtn, cancelBtn),
          ),
        );
        cancelBtn.addEventListener('click', () => replace(erOut));
        confirmBtn.addEventListener('click', () => {
          confirmBtn.disabled = true;
          // The same subjects and reason as the dry run shown, not what the form says now.
          void api<EraseReport>('POST', '/v1/gdpr/erasures', { ...body, dry_run: false }).then(
            (r) => {
              replace(
                erOut,
                message('ok', t('erased', { id: r.requestId, status: term('st', r.status) })),
                report(r),
              );
              void loadRegister();
            },
            (err: unknown) =>
              replace(erOut, message('error', t('error', { message: errorText(err) }))),
          );
        });
        confirmBtn.focus();
      },
      (err: unknown) => replace(erOut, message('error', t('error', { message: errorText(err) }))),
    );
  });

  void loadRegister();
  return () => {
    alive = false;
  };
}
