import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { testService, type TestService } from '../service/helpers.js';
import { launch, shot, watchedPage, type Watched } from './browser.js';

let s: TestService;
let base: string;
let browser: Browser;

before(async () => {
  s = await testService({ auth: { slowAfter: 1000, maxFailures: 1000 } });
  base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  await s.logs.audit({
    event: 'account.update',
    actor: 'alice-1',
    msg: 'alice changed her e-mail',
    request_id: 'req-42',
  });
  for (let i = 0; i < 130; i++)
    s.logs.app.info({ event: 'page.view', actor: 'bob-2', data: { i } }, `bob looked ${i}`);
  // A stored attack: markup and an ANSI escape in a message, sent over HTTP.
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
    body: JSON.stringify({
      event: 'evil.input',
      msg: '<img src=x onerror="window.__xss=1"> \u001b[31mred\u001b[0m',
    }),
  });
  assert.equal(res.status, 200);
  await s.logs.flush(); // signed checkpoints, for the proofs
  browser = await launch();
});

after(async () => {
  // browser is unset when Chromium is missing: the tests then fail, and the service still stops.
  await (browser as Browser | undefined)?.close();
  await s.close();
});

async function signedIn(
  role: 'auditor' | 'dpo' | 'admin' | 'ingest',
  lang?: string,
): Promise<Watched> {
  const w = await watchedPage(browser, lang);
  await w.page.goto(`${base}/`);
  await w.page.locator('input[name=token]').fill(s.token[role]);
  await w.page.locator('form.signin button[type=submit]').click();
  await w.page.locator('header .who').waitFor();
  return w;
}

function noProblems(w: Watched): void {
  assert.deepEqual(w.problems, [], 'no console errors, page errors or CSP violations');
}

async function rows(page: Page): Promise<number> {
  return page.locator('table.records tbody tr').count();
}

/** Wait until the results table has n rows (polled from here: the page's CSP forbids eval). */
async function rowsToBe(page: Page, n: number): Promise<void> {
  await page.locator('.results[aria-busy=false]').waitFor();
  const until = Date.now() + 10_000;
  while ((await rows(page)) !== n) {
    if (Date.now() > until) assert.fail(`expected ${n} rows, have ${await rows(page)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the page and its assets carry a strict CSP; the API answers carry it too', async () => {
  const page = await fetch(`${base}/`);
  assert.equal(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'self'; script-src 'self'; style-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
  const html = await page.text();
  assert.doesNotMatch(html, /<script>|\sstyle=|\son\w+=/i, 'no inline script, style or handler');
  assert.equal((await fetch(`${base}/assets/main.js`)).status, 200);
  // A name with a path in it is refused by the route's pattern; nothing outside assets/ is read.
  const traversal = await fetch(`${base}/assets/..%2fpackage.json`);
  assert.equal(traversal.status, 400);
  assert.doesNotMatch(await traversal.text(), /dihya-logs/);
  assert.equal((await fetch(`${base}/assets/nope.js`)).status, 404);
  const apiAnswer = await fetch(`${base}/v1/events`);
  assert.equal(apiAnswer.status, 401);
  assert.equal(apiAnswer.headers.get('content-security-policy'), csp);
});

test('sign in, explore with filters, infinite scroll, a record and its inclusion proof checked in the browser', async () => {
  const w = await watchedPage(browser);
  const { page } = w;
  await page.goto(`${base}/`);
  await shot(page, 'sign-in');
  // A wrong token is refused, with a message.
  await page.getByLabel('Token').fill('dl_0123456789ab_wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('AUTH_INVALID').waitFor();
  w.problems.length = 0; // the refused sign-in is logged by the browser as a failed load
  await page.getByLabel('Token').fill(s.token.auditor);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('table.records tbody tr').first().waitFor();
  assert.equal(await rows(page), 100, 'the first page');
  // The csrf token and the token itself are never stored by the page.
  const stored = await page.evaluate<string>(
    'JSON.stringify({ ...localStorage }) + document.cookie',
  );
  assert.ok(!stored.includes(s.token.auditor.slice(16)));
  assert.equal(
    await page.evaluate<string>('document.cookie'),
    '',
    'the session cookie is HttpOnly',
  );
  // Scrolling to the end loads the next page.
  await page.locator('table.records tbody tr').last().scrollIntoViewIfNeeded();
  await page.locator('table.records tbody tr').nth(100).waitFor();
  await shot(page, 'explore');
  // A filter narrows them.
  await page.getByLabel('Request id').fill('req-42');
  await page.getByRole('button', { name: 'Search' }).click();
  await rowsToBe(page, 1);
  await page.locator('table.records tbody tr').first().click();
  const panel = page.getByRole('complementary', { name: 'Record' });
  await panel.getByText('account.update').first().waitFor();
  await panel.getByRole('button', { name: 'Check inclusion proof' }).click();
  await panel.getByText('Inclusion proof: ok').waitFor();
  await shot(page, 'detail');
  // From the record to all events of its actor (another filter applied).
  await panel.getByRole('button', { name: 'All events of this actor' }).click();
  // The auditor sees the actor as stored: a pseudonym, which the filter accepts too.
  assert.match(await page.getByLabel('Actor').inputValue(), /^sub_[0-9a-f]+$/);
  await rowsToBe(page, 1);
  // Escape closes the panel.
  await page.locator('table.records tbody tr').first().press('Enter');
  await panel.waitFor();
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'hidden' });
  noProblems(w);
});

test('a stored <img onerror> and an ANSI escape are shown as inert text', async () => {
  const w = await signedIn('auditor');
  const { page } = w;
  await page.getByLabel('Event type').fill('evil.input');
  await page.getByRole('button', { name: 'Search' }).click();
  await rowsToBe(page, 1);
  const cell = page.locator('table.records tbody tr td.msgcell');
  const text = await cell.textContent();
  assert.ok(text?.includes('<img src=x onerror="window.__xss=1">'), text ?? '');
  assert.ok(text?.includes('\u241b[31mred'), 'the escape is shown as a visible picture');
  await cell.click();
  await page.getByRole('complementary', { name: 'Record' }).waitFor();
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.evaluate<unknown>('window.__xss'), undefined);
  noProblems(w);
});

test('live tail shows an event sent over HTTP while the page is open; pause holds them back', async () => {
  const w = await signedIn('auditor');
  const { page } = w;
  await page.getByRole('link', { name: 'Live' }).click();
  // Only app events: the page's own reads are audit events, which would be counted too.
  await page.getByLabel('Channel').fill('app');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByText('Connected').waitFor();
  const send = (event: string) =>
    fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
      body: JSON.stringify({ event, msg: `live ${event}` }),
    });
  assert.equal((await send('live.one')).status, 200);
  await page.locator('ol.live li', { hasText: 'live.one' }).waitFor();
  await page.getByText('1 new event', { exact: true }).waitFor();
  await page.getByRole('button', { name: 'Pause' }).click();
  await send('live.two');
  await page.getByText('Paused: 1 waiting').waitFor();
  assert.equal(await page.locator('ol.live li', { hasText: 'live.two' }).count(), 0);
  await page.getByRole('button', { name: 'Resume' }).click();
  await page.locator('ol.live li', { hasText: 'live.two' }).waitFor();
  assert.match(
    (await page.locator('ol.live li').first().textContent()) ?? '',
    /live\.two/,
    'newest on top',
  );
  // The filters of Explore apply: by event type, an event of another type is not shown.
  await page.getByLabel('Event type').fill('live.t*');
  await page.getByRole('button', { name: 'Start' }).click();
  await page.getByText('Connected').waitFor();
  await send('live.other');
  await send('live.three');
  await page.locator('ol.live li', { hasText: 'live.three' }).waitFor();
  assert.equal(await page.locator('ol.live li', { hasText: 'live.other' }).count(), 0);
  await shot(page, 'live');
  noProblems(w);
});

test('dashboard draws charts from the stats', async () => {
  const w = await signedIn('auditor');
  const { page } = w;
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.locator('.uplot').nth(2).waitFor();
  assert.equal(await page.locator('.uplot canvas').count(), 3);
  assert.ok((await page.locator('.bars meter').count()) > 0, 'top event types as bars');
  await shot(page, 'dashboard');
  noProblems(w);
});

test('integrity: run verification and see the result', async () => {
  const w = await signedIn('auditor');
  const { page } = w;
  await page.goto(`${base}/#integrity`);
  await page.getByRole('button', { name: 'Run verification' }).click();
  await page.getByText(/Verified: ok/).waitFor({ timeout: 30_000 });
  assert.ok((await page.locator('table tbody tr').count()) >= 1, 'checkpoints listed');
  await shot(page, 'integrity');
  noProblems(w);
});

test('integrity: a record edited on disk turns the page red, naming the damage', async () => {
  const bad = await testService();
  const url = await bad.app.listen({ host: '127.0.0.1', port: 0 });
  try {
    for (let i = 0; i < 5; i++) bad.logs.app.info({ event: 'step' }, `step ${i}`);
    await bad.logs.flush();
    const file = path.join(bad.t.dir, 'app.log');
    writeFileSync(file, readFileSync(file, 'utf8').replace('step 2', 'step X'));
    const w = await watchedPage(browser);
    const { page } = w;
    await page.goto(`${url}/`);
    await page.locator('input[name=token]').fill(bad.token.auditor);
    await page.locator('form.signin button[type=submit]').click();
    await page.locator('header .who').waitFor();
    await page.goto(`${url}/#integrity`);
    await page.getByRole('button', { name: 'Run verification' }).click();
    const alert = page.locator('.verdict.bad[role=alert]');
    await alert.waitFor({ timeout: 30_000 });
    const text = (await alert.textContent()) ?? '';
    assert.match(text, /record_altered/);
    assert.match(text, /app\.log/);
    await shot(page, 'integrity-damage');
    noProblems(w);
    await page.close();
  } finally {
    await bad.close();
  }
});

test('a laptop screen (1024 px): the navigation, the filters and the results fit without sideways scrolling; keyboard reaches the search', async () => {
  const w = await signedIn('auditor');
  const { page } = w;
  await page.setViewportSize({ width: 1024, height: 700 });
  await page.goto(`${base}/#explore`);
  await page.locator('table.records tbody tr').first().waitFor();
  for (const selector of ['header', 'form.filters', '.results']) {
    const box = await page.locator(selector).first().boundingBox();
    assert.ok(
      box !== null && box.x >= 0 && box.x + box.width <= 1024,
      `${selector} fits: ${JSON.stringify(box)}`,
    );
  }
  // Tab from the page's start reaches the filters and the Search button by keyboard.
  await page.locator('body').press('Tab');
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    const focused = page.locator(':focus');
    reached = (await focused.count()) > 0 && (await focused.textContent()) === 'Search';
    if (!reached) await page.keyboard.press('Tab');
  }
  assert.ok(reached, 'the Search button is reachable with Tab');
  await shot(page, 'explore-1024');
  noProblems(w);
});

test('dpo: an export with a working download link, an erasure after its dry run', async () => {
  const w = await signedIn('dpo', 'fr-FR');
  const { page } = w;
  // The language follows the browser (French here), and the switch sticks.
  await page.getByRole('link', { name: 'RGPD' }).click();
  await page.getByRole('heading', { name: 'Registre des demandes' }).waitFor();
  await page.getByLabel('Langue').selectOption('en');
  await page.getByRole('heading', { name: 'Request register' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Request register' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 0, 'no tokens for dpo');

  const exportForm = page.getByRole('form', { name: 'New export' });
  await exportForm.getByLabel('Subjects').fill('alice-1');
  await exportForm.getByLabel('Reason').fill('access request');
  await exportForm.getByRole('button', { name: 'Export' }).click();
  const link = page.getByRole('link', { name: 'Download the bundle' });
  await link.waitFor();
  const href = await link.getAttribute('href');
  assert.ok(href?.startsWith('/v1/gdpr/exports/'));
  const got = await page.evaluate(async (u) => {
    const r = await fetch(u);
    return {
      status: r.status,
      type: r.headers.get('content-type'),
      size: (await r.arrayBuffer()).byteLength,
    };
  }, href ?? '');
  assert.deepEqual([got.status, got.type], [200, 'application/x-tar']);
  assert.ok(got.size > 1024);

  const eraseForm = page.getByRole('form', { name: 'New erasure' });
  await eraseForm.getByLabel('Subjects').fill('alice-1');
  await eraseForm.getByLabel('Reason').fill('erasure request');
  await eraseForm.getByRole('button', { name: 'Preview (dry run)' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'What will happen' });
  await confirm.getByText(/Outcome: (done|scheduled)/).waitFor();
  await confirm.getByText(/Index rows that will be removed: \d+/).waitFor();
  assert.equal(
    s.logs.keys.pseudonymOf('alice-1') !== undefined,
    true,
    'nothing erased by the dry run',
  );
  await page.getByRole('row').filter({ hasText: 'export' }).first().waitFor();
  await shot(page, 'gdpr');
  await confirm.getByRole('button', { name: 'Confirm the erasure' }).click();
  await page.getByText(/Erasure era-[\w-]+: (done|scheduled)/).waitFor();
  await page.getByRole('row').filter({ hasText: 'erasure' }).first().waitFor();
  noProblems(w);
});

test('admin: create a token (shown once), then revoke it after a confirmation', async () => {
  const w = await signedIn('admin');
  const { page } = w;
  await page.getByRole('link', { name: 'Tokens' }).click();
  const form = page.getByRole('form', { name: 'New token' });
  await form.getByLabel('Name').fill('from the page');
  await form.getByLabel('Role').selectOption('ingest');
  await form.getByRole('button', { name: 'Create' }).click();
  const shown = page.locator('input.new-token');
  await shown.waitFor();
  const token = await shown.inputValue();
  assert.match(token, /^dl_[0-9a-f]{12}_/);
  const id = token.slice(3, 15);
  assert.ok(s.tokens.check(token, Date.now()) !== undefined);
  await page.locator(`button[data-token="${id}"]`).click();
  await page.getByText(`Revoke token ${id}?`).waitFor();
  await shot(page, 'tokens');
  await page.getByRole('button', { name: 'Yes, revoke' }).click();
  await page.locator(`button[data-token="${id}"]`).waitFor({ state: 'detached' });
  assert.equal(s.tokens.check(token, Date.now()), undefined, 'revoked');
  noProblems(w);
});

test('roles: the auditor has no GDPR or Tokens page, and the API refuses too; ingest sees a message; sign out', async () => {
  const w = await signedIn('auditor');
  const { page } = w;
  assert.equal(await page.getByRole('link', { name: 'GDPR' }).count(), 0);
  assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 0);
  await page.goto(`${base}/#gdpr`);
  await page.getByText('Your role (auditor) may not see this page.').waitFor();
  await page.goto(`${base}/#tokens`);
  await page.getByText('Your role (auditor) may not see this page.').waitFor();
  const status = await page.evaluate(async () => (await fetch('/v1/gdpr/requests')).status);
  assert.equal(status, 403);
  // A state-changing call without the CSRF header is refused, even with the session cookie.
  const noCsrf = await page.evaluate(
    async () => (await fetch('/v1/integrity/verify', { method: 'POST' })).status,
  );
  assert.equal(noCsrf, 403);
  w.problems.length = 0; // the browser logs the refused calls above
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Token').waitFor();
  const after = await page.evaluate(async () => (await fetch('/v1/events')).status);
  assert.equal(after, 401, 'signed out: the cookie no longer works');

  const ingest = await signedIn('ingest');
  await ingest.page.getByText('This token may only write events').waitFor();
  assert.equal(await ingest.page.getByRole('link', { name: 'Explore' }).count(), 0);
  noProblems(ingest);
});
