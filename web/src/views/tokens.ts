import { api } from '../api.js';
import { content, field, h, message, replace, select, table } from '../dom.js';
import { errorText, t, term, when } from '../i18n.js';

interface TokenInfo {
  id: string;
  name: string;
  role: string;
  created: string;
  expires?: string;
  lastUsed?: string;
  revoked?: string;
}

export function tokensView(root: HTMLElement): () => void {
  const list = h('section', { 'aria-labelledby': 'tokens-list' });
  const name = h('input', { name: 'name', required: true, maxlength: 100 });
  const role = select(
    'role',
    (['ingest', 'auditor', 'dpo', 'admin'] as const).map((r) => [r, term('role', r)]),
    'auditor',
  );
  const expires = h('input', { name: 'expires', placeholder: '90d' });
  const out = h('div', { role: 'status' });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'tokens-new' },
    h('h2', { id: 'tokens-new' }, t('newToken')),
    field(t('name'), name),
    field(t('role'), role),
    field(t('expiresHint'), expires),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, t('create'))),
    out,
  );
  replace(root, h('h1', {}, t('navTokens')), list, form);
  let alive = true;

  async function load(): Promise<void> {
    try {
      const { tokens } = await api<{ tokens: TokenInfo[] }>('GET', '/v1/tokens');
      if (!alive) return;
      replace(
        list,
        h('h2', { id: 'tokens-list' }, t('tokenList')),
        table(
          [
            t('id'),
            t('name'),
            t('role'),
            t('created'),
            t('expires'),
            t('lastUsed'),
            t('revoked'),
            t('actions'),
          ],
          tokens.map(row),
        ),
      );
    } catch (err) {
      replace(list, message('error', t('error', { message: errorText(err) })));
    }
  }

  function row(tok: TokenInfo): HTMLTableRowElement {
    const cell = h('td');
    if (tok.revoked === undefined) {
      const revokeBtn = h(
        'button',
        { type: 'button', class: 'danger', 'data-token': tok.id },
        t('revoke'),
      );
      revokeBtn.addEventListener('click', () => {
        const yes = h('button', { type: 'button', class: 'danger' }, t('yesRevoke'));
        const no = h('button', { type: 'button', class: 'secondary' }, t('cancel'));
        replace(
          cell,
          h('span', { role: 'alert' }, t('confirmRevoke', { id: tok.id })),
          ' ',
          yes,
          ' ',
          no,
        );
        no.addEventListener('click', () => {
          replace(cell, revokeBtn);
          revokeBtn.focus();
        });
        yes.addEventListener('click', () => {
          void api('DELETE', `/v1/tokens/${encodeURIComponent(tok.id)}`).then(
            () => load(),
            (err: unknown) =>
              replace(cell, message('error', t('error', { message: errorText(err) }))),
          );
        });
        yes.focus();
      });
      cell.append(revokeBtn);
    }
    return h(
      'tr',
      {},
      content('td', tok.id, { class: 'mono' }),
      content('td', tok.name),
      h('td', {}, term('role', tok.role)),
      h('td', {}, when(tok.created)),
      h('td', {}, when(tok.expires)),
      h('td', {}, when(tok.lastUsed)),
      h('td', {}, tok.revoked === undefined ? '' : when(tok.revoked)),
      cell,
    );
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void api<TokenInfo & { token: string }>('POST', '/v1/tokens', {
      name: name.value,
      role: role.value,
      ...(expires.value.trim() === '' ? {} : { expires: expires.value.trim() }),
    }).then(
      (made) => {
        const shown = h('input', {
          readonly: true,
          class: 'mono new-token',
          value: made.token,
          'aria-label': t('token'),
        });
        const copyBtn = h('button', { type: 'button' }, t('copy'));
        const copied = h('span', { role: 'status' });
        copyBtn.addEventListener('click', () => {
          shown.select();
          void navigator.clipboard.writeText(shown.value).then(
            () => {
              copied.textContent = t('copied');
            },
            () => undefined,
          );
        });
        replace(out, h('p', {}, t('tokenOnce')), shown, ' ', copyBtn, ' ', copied);
        form.reset();
        void load();
      },
      (err: unknown) => replace(out, message('error', t('error', { message: errorText(err) }))),
    );
  });
  void load();
  return () => {
    alive = false;
  };
}
