import { api } from '../api.js';
import { content, h, message, replace, table, type Child } from '../dom.js';
import { errorText, isKey, num, percent, t, tnParts, tParts, when } from '../i18n.js';

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
    warnings: Warning[];
  };
  running: null | { bytes: number; totalBytes: number; records: number };
  checkpoints: Array<{ channel: string; size: number; root: string; ts: string }>;
}

interface Warning {
  kind: string;
  channel?: string;
  detail?: string;
}

/** A kind of damage or warning the service names, in the page's language. */
function kindText(prefix: 'dmg' | 'warn', kind: string): string {
  const k = `${prefix}_${kind}`;
  return t(isKey(k) ? k : `${prefix}_unknown`);
}

/**
 * Records written after the last signed checkpoint: normal on a running service (the
 * verification writes its own audit record), so a neutral note, not a warning.
 */
function unsignedNote(tails: Warning[]): HTMLElement {
  return h(
    'div',
    { class: 'note unsigned' },
    h('p', {}, h('strong', {}, t('unsignedTitle'))),
    h('p', {}, t('unsignedExplain')),
    h(
      'ul',
      {},
      ...tails.map((w) => {
        // The service's detail starts with the count ("3 record(s) after ..."): parse, not show.
        const count = /^(\d{1,15}) /.exec(w.detail ?? '')?.[1];
        const channel = content('span', w.channel ?? '');
        return h(
          'li',
          {},
          ...(count === undefined ? [channel] : tnParts('unsignedOf', Number(count), { channel })),
        );
      }),
    ),
  );
}

/** Who ran a verification: `token <id>`, `service` or `scheduler` as the service says it. */
function whoRan(by: string): HTMLElement {
  const token = /^token ([\w-]{1,64})$/.exec(by)?.[1];
  if (token !== undefined) return h('span', {}, t('byToken'), ' ', content('code', token));
  return by === 'service' || by === 'scheduler'
    ? h('span', {}, t('byService'))
    : content('span', by);
}

function warningsList(warnings: Warning[]): Child {
  if (warnings.length === 0) return null;
  return h(
    'div',
    {},
    h('h3', {}, t('warnings')),
    h(
      'ul',
      {},
      ...warnings.map((w) =>
        h(
          'li',
          {},
          w.channel === undefined ? null : content('span', `${w.channel}: `),
          kindText('warn', w.kind),
          ' ',
          content('code', w.kind),
        ),
      ),
    ),
  );
}

function damageTable(damage: Damage[]): HTMLElement {
  return table(
    [t('damageKind'), t('channel'), t('file'), t('line'), t('seq'), t('detailText')],
    damage.map((d) =>
      h(
        'tr',
        {},
        content('td', d.kind, { class: 'mono' }),
        content('td', d.channel ?? ''),
        content('td', d.file ?? ''),
        h('td', {}, d.line ?? ''),
        h('td', {}, d.seq ?? ''),
        h('td', {}, kindText('dmg', d.kind)),
      ),
    ),
  );
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
    const by = v === null ? null : whoRan(v.by);
    const result =
      v === null
        ? h('p', {}, t('never'))
        : v.ok
          ? h(
              'p',
              { class: 'verdict ok' },
              ...tnParts('verifiedOk', v.records, {
                records: v.records,
                when: when(v.at),
                by: by ?? '',
              }),
            )
          : h(
              'div',
              { class: 'verdict bad', role: 'alert' },
              h(
                'p',
                {},
                h('strong', {}, ...tParts('verifiedBad', { when: when(v.at), by: by ?? '' })),
              ),
              damageTable(v.damage),
            );
    const tails = v?.warnings.filter((w) => w.kind === 'unsigned_tail') ?? [];
    replace(
      out,
      h('h2', {}, t('lastVerification')),
      result,
      tails.length === 0 ? null : unsignedNote(tails),
      warningsList(v?.warnings.filter((w) => w.kind !== 'unsigned_tail') ?? []),
      h('h2', {}, t('checkpoints')),
      table(
        [t('channel'), t('size'), t('time'), t('root')],
        s.checkpoints.map((c) =>
          h(
            'tr',
            {},
            content('td', c.channel),
            h('td', {}, num(c.size)),
            h('td', {}, when(c.ts)),
            content('td', c.root, { class: 'mono' }),
          ),
        ),
      ),
      h('p', {}, ...tParts('publicKeyIs', { key: content('code', s.public_key) })),
    );
    if (s.running === null) {
      replace(progress);
      runBtn.disabled = false;
    } else {
      const pct =
        s.running.totalBytes > 0 ? Math.floor((100 * s.running.bytes) / s.running.totalBytes) : 0;
      replace(
        progress,
        h('label', { for: 'verify-progress' }, t('running', { percent: percent(pct / 100) })),
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
      replace(out, message('error', t('error', { message: errorText(err) })));
    }
  }

  runBtn.addEventListener('click', () => {
    runBtn.disabled = true;
    void api('POST', '/v1/integrity/verify').then(
      () => refresh(),
      (err: unknown) => {
        runBtn.disabled = false;
        replace(progress, message('error', t('error', { message: errorText(err) })));
      },
    );
  });
  void refresh();
  return () => {
    alive = false;
    window.clearTimeout(timer);
  };
}
