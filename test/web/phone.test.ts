import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { testService, type TestService } from '../service/helpers.js';
import { launch, shot } from './browser.js';
import { signedInPage } from './pages.js';

let s: TestService;
let base: string;
let browser: Browser;
const WIDTH = 420;

before(async () => {
  s = await testService();
  base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  await s.logs.audit({
    event: 'account.update',
    actor: { id: `u-${'y'.repeat(298)}`, email: 'ana@example.org' },
    msg: `a message without spaces ${'z'.repeat(400)}`,
    request_id: 'req-1',
  });
  for (let i = 0; i < 30; i++) s.logs.app.info({ event: 'page.view', actor: 'bob-2' }, `view ${i}`);
  await s.logs.flush();
  browser = await launch();
});

after(async () => {
  await (browser as Browser | undefined)?.close();
  await s.close();
});

/** The page's width and the navigation: every link on the screen. */
async function fits(page: Page, view: string): Promise<void> {
  const scroll = await page.evaluate<number>('document.documentElement.scrollWidth');
  assert.ok(scroll <= WIDTH, `${view}: the page is ${scroll} px wide at ${WIDTH} px`);
  const links = page.locator('header nav a');
  assert.equal(await links.count(), 6, `${view}: all views in the navigation`);
  for (const link of await links.all()) {
    const box = await link.boundingBox();
    assert.ok(
      box !== null && box.x >= 0 && box.x + box.width <= WIDTH,
      `${view}: ${await link.textContent()} is on the screen: ${JSON.stringify(box)}`,
    );
  }
  await shot(page, `phone-${view}`);
}

test('a phone (420 px): no view is wider than the screen, the navigation is reachable, tables scroll in their own box', async () => {
  const w = await signedInPage(browser, s, base, 'admin', { width: WIDTH, height: 900 });
  const { page } = w;

  await page.locator('table.records tbody tr').first().waitFor();
  await fits(page, 'explore');
  // The results scroll sideways inside their box, not the page.
  const results = await page.evaluate<{ scroll: number; client: number }>(
    `(() => { const r = document.querySelector('.results');
      return { scroll: r.scrollWidth, client: r.clientWidth }; })()`,
  );
  assert.ok(results.client <= WIDTH && results.scroll >= results.client, JSON.stringify(results));
  await page.locator('table.records tbody tr').last().click();
  await page.getByRole('complementary', { name: 'Record' }).waitFor();
  await fits(page, 'explore-record');

  await page.getByRole('link', { name: 'Live' }).click();
  await page.getByText('Connected').waitFor();
  await fits(page, 'live');

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.locator('.uplot').nth(2).waitFor();
  await fits(page, 'dashboard');

  await page.getByRole('link', { name: 'Integrity' }).click();
  await page.getByRole('button', { name: 'Run verification' }).click();
  await page.locator('.verdict.ok').waitFor({ timeout: 30_000 });
  await fits(page, 'integrity');

  await page.getByRole('link', { name: 'GDPR' }).click();
  await page.getByRole('heading', { name: 'Request register' }).waitFor();
  await fits(page, 'gdpr');

  await page.getByRole('link', { name: 'Tokens' }).click();
  await page.locator('section[aria-labelledby=tokens-list] tbody tr').first().waitFor();
  await fits(page, 'tokens');
  // The keyboard still reaches the last view's form.
  await page.getByRole('button', { name: 'Create' }).focus();
  assert.deepEqual(w.problems, []);
});
