import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { testService, type TestService } from '../service/helpers.js';
import { launch, watchedPage } from './browser.js';

let s: TestService;
let base: string;
let browser: Browser;

before(async () => {
  s = await testService();
  base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launch();
});

after(async () => {
  await (browser as Browser | undefined)?.close();
  await s.close();
});

/** Every console error and page error, the browser's failed loads (a 401) included. */
function errorsOf(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/** Load the page and wait for its answer to GET /v1/session; returns that answer's status. */
async function load(page: Page, how: 'goto' | 'reload'): Promise<number> {
  const probe = page.waitForResponse(
    (r) => new URL(r.url()).pathname === '/v1/session' && r.request().method() === 'GET',
  );
  if (how === 'goto') await page.goto(`${base}/`);
  else await page.reload();
  return (await probe).status();
}

test('opening the admin page before sign-in logs no console error and records no failed authentication', async () => {
  const { page } = await watchedPage(browser);
  const errors = errorsOf(page);
  assert.equal(await load(page, 'goto'), 200);
  await page.locator('form.signin input[name=token]').waitFor();
  // Signed in, a reload finds the session; signed out, a reload shows the form again.
  await page.locator('input[name=token]').fill(s.token.ingest);
  await page.locator('form.signin button[type=submit]').click();
  await page.locator('header .who').waitFor();
  assert.equal(await load(page, 'reload'), 200);
  await page.locator('header .who').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.locator('form.signin').waitFor();
  assert.equal(await load(page, 'reload'), 200);
  await page.locator('form.signin input[name=token]').waitFor();
  assert.deepEqual(errors, [], 'no console error, no page error');
  await s.logs.flush();
  assert.deepEqual(
    s.records('security').filter((e) => e.event === 'auth.failure'),
    [],
    'a signed-out page load is no failed authentication',
  );
});
