import { currentSession, signIn, signOut, whenSessionEnds, type Session } from './api.js';
import { content, field, h, message, replace, select } from './dom.js';
import { errorText, lang, setLang, t, tParts, term, type Key, type Lang } from './i18n.js';
import { dashboardView } from './views/dashboard.js';
import { exploreView } from './views/explore.js';
import { gdprView } from './views/gdpr.js';
import { integrityView } from './views/integrity.js';
import { liveView } from './views/live.js';
import { tokensView } from './views/tokens.js';

type Role = Session['role'];
interface View {
  readonly id: string;
  readonly label: Key;
  readonly roles: readonly Role[];
  readonly render: (root: HTMLElement) => () => void;
}

const READERS: readonly Role[] = ['auditor', 'dpo', 'admin'];
const VIEWS: readonly View[] = [
  { id: 'explore', label: 'navExplore', roles: READERS, render: exploreView },
  { id: 'live', label: 'navLive', roles: READERS, render: liveView },
  { id: 'dashboard', label: 'navDashboard', roles: READERS, render: dashboardView },
  { id: 'integrity', label: 'navIntegrity', roles: READERS, render: integrityView },
  { id: 'gdpr', label: 'navGdpr', roles: ['dpo', 'admin'], render: gdprView },
  { id: 'tokens', label: 'navTokens', roles: ['admin'], render: tokensView },
];

const app = document.getElementById('app') ?? document.body;
let session: Session | undefined;
let stop: () => void = () => undefined;
let notice: string | undefined;

function langSwitch(): HTMLElement {
  const s = select(
    'lang',
    [
      ['en', 'English'],
      ['fr', 'Français'],
    ],
    lang(),
  );
  s.addEventListener('change', () => {
    setLang(s.value as Lang);
    render();
  });
  return h('div', { class: 'lang' }, field(t('language'), s));
}

function signInPage(): void {
  const token = h('input', {
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
  });
  const out = h('div', { role: 'status' });
  const form = h(
    'form',
    { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, t('signIn')),
    h('p', {}, t('signInIntro')),
    field(t('token'), token),
    h('div', { class: 'buttons' }, h('button', { type: 'submit' }, t('signIn'))),
    out,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    signIn(token.value).then(
      (s) => {
        token.value = '';
        session = s;
        notice = undefined;
        if (location.hash === '') location.hash = '#explore';
        render();
      },
      (err: unknown) => replace(out, message('error', t('error', { message: errorText(err) }))),
    );
  });
  replace(
    app,
    h('header', { class: 'top' }, h('p', { class: 'brand' }, 'dihya-logs'), langSwitch()),
    h('main', { id: 'main' }, notice === undefined ? null : message('info', notice), form),
  );
  token.focus();
}

function render(): void {
  stop();
  stop = () => undefined;
  document.title = t('title');
  if (session === undefined) return signInPage();
  const s = session;
  const allowed = VIEWS.filter((v) => v.roles.includes(s.role));
  const wanted = location.hash.replace(/^#/, '');
  const view = VIEWS.find((v) => v.id === wanted) ?? allowed[0];
  const outBtn = h('button', { type: 'button', class: 'secondary' }, t('signOut'));
  outBtn.addEventListener('click', () => {
    void signOut().finally(() => {
      session = undefined;
      render();
    });
  });
  const main = h('main', { id: 'main', tabindex: -1 });
  replace(
    app,
    h(
      'a',
      {
        href: '#main',
        class: 'skip',
        onclick: (e: Event) => {
          e.preventDefault();
          main.focus();
        },
      },
      t('skip'),
    ),
    h(
      'header',
      { class: 'top' },
      h('p', { class: 'brand' }, 'dihya-logs'),
      h(
        'nav',
        { 'aria-label': t('mainNav') },
        h(
          'ul',
          {},
          ...allowed.map((v) =>
            h(
              'li',
              {},
              h(
                'a',
                { href: `#${v.id}`, 'aria-current': v === view ? 'page' : undefined },
                t(v.label),
              ),
            ),
          ),
        ),
      ),
      h(
        'p',
        { class: 'who' },
        ...tParts('signedInAs', { name: content('span', s.name), role: term('role', s.role) }),
      ),
      langSwitch(),
      outBtn,
    ),
    main,
  );
  if (view === undefined || allowed.length === 0) {
    main.append(message('info', t('ingestOnly')));
  } else if (!view.roles.includes(s.role)) {
    main.append(
      h('h1', {}, t(view.label)),
      message('error', t('refused', { role: term('role', s.role) })),
    );
  } else {
    stop = view.render(main);
  }
}

whenSessionEnds(() => {
  if (session === undefined) return;
  session = undefined;
  notice = t('sessionEnded');
  render();
});
window.addEventListener('hashchange', () => render());
setLang(lang());
void currentSession().then((s) => {
  session = s;
  render();
});
