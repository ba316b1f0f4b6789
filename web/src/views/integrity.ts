import { api } from '../api.js';
import { h, message, replace, table } from '../dom.js';
import { t, when } from '../i18n.js';

interface Damage {
  kind: string;
  channel?: string;
  file?: string;
  line?: number;
  seq?: number;
  detail: string;
}
interface Integrity {
  log_id: string;
  public_key: string;
  last_verification: null | {
    at: string;
    by: string;
    ok: boolean;
    records: number;
    damage: Damage[];
    warnings: Array<{ kind: string; detail?: string }>;
  };
  running: null | { bytes: number; totalBytes: number; records: number };
  checkpoints: Array<{ channel: string; size: number; root: string; ts: string }>;
}

export function integrityView(root: HTMLElement): () => void {
  const runBtn = h('button', { type: 'button' }, t('runVerification'));
  const progress = h('div', { class: 'progress', role: 'status', 'aria-live': 'polite' });
  const out = h('div');
  replace(
    root,
    h('h1', {}, t('navIntegrity')),
    h('div', { class: 'buttons' }, runBtn),
    progress,
    out,
  );
  let timer: number | undefined;
  let alive = true;

  function render(s: Integrity): void {
    const v = s.last_verification;
    const result =
      v === null
        ? h('p', {}, t('never'))
        : v.ok
          ? h(
              'p',
              { class: 'verdict ok' },
              t('verifiedOk', { records: v.records, when: when(v.at), by: v.by }),
            )
          : h(
              'div',
              { class: 'verdict bad', role: 'alert' },
              h('p', {}, h('strong', {}, t('verifiedBad', { when: when(v.at), by: v.by }))),
              table(
                [t('damageKind'), t('channel'), t('file'), t('line'), t('seq'), t('detailText')],
                v.damage.map((d) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, d.kind),
                    h('td', {}, d.channel ?? ''),
                    h('td', {}, d.file ?? ''),
                    h('td', {}, d.line ?? ''),
                    h('td', {}, d.seq ?? ''),
                    h('td', {}, d.detail),
                  ),
                ),
              ),
            );
    replace(
      out,
      h('h2', {}, t('lastVerification')),
      result,
      v !== null && v.warnings.length > 0
        ? h(
            'div',
            {},
            h('h3', {}, t('warnings')),
            h(
              'ul',
              {},
              ...v.warnings.map((w) =>
                h('li', {}, `${w.kind}${w.detail === undefined ? '' : `: ${w.detail}`}`),
              ),
            ),
          )
        : null,
      h('h2', {}, t('checkpoints')),
      table(
        [t('channel'), t('size'), t('time'), t('root')],
        s.checkpoints.map((c) =>
          h(
            'tr',
            {},
            h('td', {}, c.channel),
            h('td', {}, c.size),
            h('td', {}, when(c.ts)),
            h('td', { class: 'mono' }, c.root),
          ),
        ),
      ),
      h('p', {}, `${t('publicKey')}: `, h('code', {}, s.public_key)),
    );
    if (s.running === null) {
      replace(progress);
      runBtn.disabled = false;
    } else {
      const pct =
        s.running.totalBytes > 0 ? Math.floor((100 * s.running.bytes) / s.running.totalBytes) : 0;
      replace(
        progress,
        h('label', { for: 'verify-progress' }, t('running', { percent: pct })),
        ' ',
        h('progress', { id: 'verify-progress', max: 100, value: pct }),
      );
      runBtn.disabled = true;
    }
  }

  async function refresh(): Promise<void> {
    try {
      const s = await api<Integrity>('GET', '/v1/integrity');
      if (!alive) return;
      render(s);
      if (s.running !== null) timer = window.setTimeout(() => void refresh(), 500);
    } catch (err) {
      replace(out, message('error', t('error', { message: (err as Error).message })));
    }
  }

  runBtn.addEventListener('click', () => {
    runBtn.disabled = true;
    void api('POST', '/v1/integrity/verify').then(
      () => refresh(),
      (err: unknown) => {
        runBtn.disabled = false;
        replace(progress, message('error', t('error', { message: (err as Error).message })));
      },
    );
  });
  void refresh();
  return () => {
    alive = false;
    window.clearTimeout(timer);
  };
}
