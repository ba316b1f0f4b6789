import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { en } from '../../web/src/i18n/en.js';
import { fr } from '../../web/src/i18n/fr.js';
import { termsEn } from '../../web/src/i18n/terms-en.js';
import { termsFr } from '../../web/src/i18n/terms-fr.js';
import { testService, type TestService } from '../service/helpers.js';
import { launch, shot, watchedPage, type Watched } from './browser.js';
import { keepWriting, pageWords, signedInPage } from './pages.js';

let s: TestService;
let base: string;
let browser: Browser;

before(async () => {
  s = await testService({ auth: { slowAfter: 1000, maxFailures: 1000 } });
  base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  await s.logs.audit({
    event: 'account.update',
    actor: { id: 'alice-1', email: 'alice@example.org' },
    msg: 'alice changed her e-mail',
    request_id: 'req-42',
  });
  for (let i = 0; i < 20; i++) s.logs.app.info({ event: 'page.view', actor: 'bob-2' }, `view ${i}`);
  s.logs.app.warning({ event: 'quota.almost' }, 'quota almost reached');
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
    body: JSON.stringify({
      level: 'SECURITY',
      event: 'auth.login.failure',
      outcome: 'failure',
      actor: { email: 'mallory@example.org', ip: '203.0.113.7' },
    }),
  });
  assert.equal(res.status, 200);
  await s.logs.flush();
  browser = await launch();
});

after(async () => {
  await (browser as Browser | undefined)?.close();
  await s.close();
});

/**
 * Words of the English catalogue that are French too (the same in fr.ts): the only English
 * allowed on the French page. Kept minimal: each must be found in the French catalogue.
 */
const SAME_IN_FRENCH = [
  'dihya-logs — administration',
  'Message',
  'Pause',
  'Format',
  'Export',
  'export',
  'Actions',
  'INFO',
  'AUDIT',
];

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The text of a catalogue value around its `{placeholders}`, trimmed of punctuation. */
const fragments = (value: string): string[] =>
  value
    .split(/\{\w+\}/)
    .map((f) => {
      // From the first to the last letter or digit (no regex: its end would backtrack).
      const chars = Array.from(f);
      const alnum = (c: string): boolean => /[\p{L}\p{N}]/u.test(c);
      const from = chars.findIndex(alnum);
      const to = chars.findLastIndex(alnum);
      return from === -1 ? '' : chars.slice(from, to + 1).join('');
    })
    .filter((f) => /\p{L}{2}/u.test(f));
const wordRe = (f: string): RegExp =>
  new RegExp(`(?<![\\p{L}\\p{N}_-])${escape(f)}(?![\\p{L}\\p{N}_-])`, 'u');

const ENGLISH = [...new Set(Object.values({ ...en, ...termsEn }).flatMap(fragments))]
  .filter((f) => !SAME_IN_FRENCH.includes(f))
  .map((f) => ({ f, re: wordRe(f) }));

test('the list of words the same in both languages is minimal: each is in the French catalogue', () => {
  const french = Object.values({ ...fr, ...termsFr })
    .map((v) => v.replace(/\{\w+\}/g, ' '))
    .join('\n');
  for (const w of SAME_IN_FRENCH) assert.match(french, wordRe(w), w);
  assert.ok(ENGLISH.length > 200, 'the English catalogue is read');
});

// French dates (7 déc. 2026, 16:40:12); anything else that looks like a date.
const FRENCH_DATE =
  /\d{1,2} (?:janv\.|févr\.|mars|avr\.|mai|juin|juil\.|août|sept\.|oct\.|nov\.|déc\.) \d{4},? (?:à )?\d{2}:\d{2}:\d{2}/;
const OTHER_DATES = [
  /\d{1,2}\/\d{1,2}\/\d{2,4}/, // 07/12/2026, 12/6/26
  /\d{4}-\d{2}-\d{2}/, // ISO
  /\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept?|Oct|Nov|Dec) \d{4}/, // English months
];

/** Assert the French page's words hold no English catalogue value, and dates are French. */
async function allFrench(page: Page, view: string, dates: boolean): Promise<string> {
  const text = await pageWords(page);
  const english = ENGLISH.filter(({ re }) => re.test(text)).map(({ f }) => f);
  assert.deepEqual(english, [], `${view}: English on the French page:\n${text}`);
  for (const re of OTHER_DATES) assert.doesNotMatch(text, re, `${view}: a date not in French`);
  if (dates) assert.match(text, FRENCH_DATE, `${view}: dates in the French format`);
  return text;
}

function noProblems(w: Watched): void {
  assert.deepEqual(w.problems, [], 'no console errors, page errors or CSP violations');
}

test('French: every view, with data, shows no English, French plurals, French dates and numbers', async () => {
  const w = await watchedPage(browser, 'fr-FR');
  const { page } = w;
  await page.goto(`${base}/`);
  // A server error answer (AUTH_INVALID), in French.
  await page.getByLabel('Jeton').fill('dl_0123456789ab_wrong');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.getByText('le jeton est inconnu, révoqué ou expiré (AUTH_INVALID)').waitFor();
  await allFrench(page, 'sign-in error', false);
  w.problems.length = 0; // the browser logs the refused sign-in
  await page.getByLabel('Jeton').fill(s.token.admin);
  await page.getByRole('button', { name: 'Se connecter' }).click();

  // Explore, then one record opened and its proof checked.
  await page.locator('table.records tbody tr').first().waitFor();
  await page.getByText(/^\d+ enregistrements chargés/).waitFor();
  await allFrench(page, 'explore', true);
  await page.getByLabel('Identifiant de requête').fill('req-42');
  await page.getByRole('button', { name: 'Rechercher' }).click();
  await page.getByText('1 enregistrement chargé — Fin des résultats.').waitFor();
  await page.locator('table.records tbody tr').first().click();
  const panel = page.getByRole('complementary', { name: 'Enregistrement' });
  await panel.getByRole('button', { name: 'Vérifier la preuve d’inclusion' }).click();
  await panel.getByText('Preuve d’inclusion : ok').waitFor();
  await allFrench(page, 'explore, a record', true);
  // A server error answer in Explore: a filter the service refuses (USAGE).
  await page.getByLabel('Depuis').fill('hier');
  await page.getByRole('button', { name: 'Rechercher' }).click();
  await page.getByText('Erreur : la demande est mal formée').waitFor();
  await allFrench(page, 'explore, an error', false);
  w.problems.length = 0; // the browser logs the refused call
  await shot(page, 'fr-explore');

  // Live, with an event received.
  await page.getByRole('link', { name: 'Direct' }).click();
  await page.getByRole('heading', { name: 'Direct' }).waitFor();
  await page.getByLabel('Canal').fill('app');
  await page.getByRole('button', { name: 'Démarrer' }).click();
  await page.getByText('Connecté', { exact: true }).waitFor();
  await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
    body: JSON.stringify({ event: 'live.one', level: 'WARNING', msg: 'live one' }),
  });
  await page.getByText('1 nouvel événement', { exact: true }).waitFor();
  await allFrench(page, 'live', true);

  // Dashboard, a chart's legend showing a time and counts (the cursor over the chart).
  await page.getByRole('link', { name: 'Tableau de bord' }).click();
  await page.locator('.uplot').nth(2).waitFor();
  await page.locator('.uplot .u-over').first().hover();
  const dash = await allFrench(page, 'dashboard', true);
  assert.match(dash, /AVERTISSEMENT/, 'levels in the legend, in French');
  await shot(page, 'fr-dashboard');

  // Integrity after a verification.
  await page.getByRole('link', { name: 'Intégrité' }).click();
  const stop = keepWriting(s);
  try {
    await page.getByRole('button', { name: 'Lancer la vérification' }).click();
    await page.locator('.verdict.ok').waitFor({ timeout: 30_000 });
  } finally {
    stop();
  }
  await allFrench(page, 'integrity', true);
  assert.match(
    (await page.locator('.verdict.ok').textContent()) ?? '',
    /^Vérifié : ok — [\d\u202f]+ enregistrements, \d{1,2} déc\. 2026/,
  );
  assert.match(
    (await page.locator('.note.unsigned').textContent()) ?? '',
    /ils sont signés au prochain point de contrôle/,
  );
  await shot(page, 'fr-integrity');

  // GDPR: an export, an erasure's dry run, then the erasure.
  await page.getByRole('link', { name: 'RGPD' }).click();
  const exportForm = page.getByRole('form', { name: 'Nouvel export' });
  await exportForm.getByLabel('Personnes').fill('alice-1');
  await exportForm.getByRole('button', { name: 'Exporter' }).click();
  await page.getByRole('link', { name: 'Télécharger le paquet' }).waitFor();
  await page.getByText(/^Export exp-[\w-]+ : 1 enregistrement\.$/).waitFor();
  const eraseForm = page.getByRole('form', { name: 'Nouvel effacement' });
  await eraseForm.getByLabel('Personnes').fill('alice-1');
  await eraseForm.getByLabel('Motif').fill('demande d’effacement');
  await eraseForm.getByRole('button', { name: 'Aperçu (simulation)' }).click();
  const confirm = page.getByRole('alertdialog', { name: 'Ce qui va se passer' });
  await confirm.getByText(/Résultat : (fait|programmé) \(effacé/).waitFor();
  await page.getByRole('row').filter({ hasText: 'export' }).first().waitFor();
  await allFrench(page, 'gdpr, export and dry run', true);
  // The default duty's legal basis, in French.
  assert.match(
    (await confirm.locator('.report').textContent()) ?? '',
    /Conservé sur audit \(responsabilité et sécurité du traitement \(RGPD art\. 5\(2\), 32\)/,
  );
  await confirm.getByRole('button', { name: 'Confirmer l’effacement' }).click();
  await page.getByText(/Effacement era-[\w-]+ : (fait|programmé)\./).waitFor();
  await page.getByRole('row').filter({ hasText: 'effacement' }).first().waitFor();
  await allFrench(page, 'gdpr, erasure', true);
  await shot(page, 'fr-gdpr');

  // Tokens.
  await page.getByRole('link', { name: 'Jetons' }).click();
  await page.locator('section[aria-labelledby=tokens-list] tbody tr').first().waitFor();
  const tokens = await allFrench(page, 'tokens', true);
  assert.match(tokens, /auditeur/);
  await shot(page, 'fr-tokens');
  noProblems(w);
});

// Anything that looks like a date: numeric, ISO, or day month year.
const DATE_LIKE =
  /\d{4}-\d{2}-\d{2}|\d{1,2}\/\d{1,2}\/\d{2,4}|\d{1,2} [A-Z][a-z]{2,3}\.? \d{4}[^\n]{0,11}/g;
const ENGLISH_DATE =
  /^\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept|Oct|Nov|Dec) \d{4}, \d{2}:\d{2}:\d{2}/;

/** The dates of the page's words, each in the one English format; how many. */
async function oneDateFormat(page: Page, view: string): Promise<number> {
  const dates = (await pageWords(page)).match(DATE_LIKE) ?? [];
  for (const d of dates) assert.match(d, ENGLISH_DATE, `${view}: ${d}`);
  return dates.length;
}

test('English: every date on the page has one format (tables, proof view, chart legend, tokens, GDPR)', async () => {
  const w = await signedInPage(browser, s, base, 'admin');
  const { page } = w;
  let seen = 0;
  await page.locator('table.records tbody tr').first().waitFor();
  await page.locator('table.records tbody tr').first().click();
  await page.getByRole('button', { name: 'Check inclusion proof' }).click();
  await page.getByText('Inclusion proof: ok').waitFor();
  seen += await oneDateFormat(page, 'explore');
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.locator('.uplot').nth(2).waitFor();
  await page.locator('.uplot .u-over').first().hover();
  const legend = await oneDateFormat(page, 'dashboard');
  assert.ok(legend >= 1, 'the legend shows the time under the cursor');
  await page.getByRole('link', { name: 'Integrity' }).click();
  await page.getByRole('button', { name: 'Run verification' }).click();
  await page.locator('.verdict.ok').waitFor({ timeout: 30_000 });
  seen += await oneDateFormat(page, 'integrity');
  await page.getByRole('link', { name: 'GDPR' }).click();
  const exportForm = page.getByRole('form', { name: 'New export' });
  await exportForm.getByLabel('Subjects').fill('bob-2');
  await exportForm.getByRole('button', { name: 'Export' }).click();
  await page.getByRole('link', { name: 'Download the bundle' }).waitFor();
  await page.getByRole('row').filter({ hasText: 'export' }).first().waitFor();
  seen += await oneDateFormat(page, 'gdpr');
  await page.getByRole('link', { name: 'Tokens' }).click();
  await page.locator('section[aria-labelledby=tokens-list] tbody tr').first().waitFor();
  seen += await oneDateFormat(page, 'tokens');
  assert.ok(seen >= 20, `dates were found (${seen})`);
  noProblems(w);
});
