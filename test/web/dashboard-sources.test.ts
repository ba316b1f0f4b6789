import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator } from 'playwright-core';
import { testService, type TestService } from '../service/helpers.js';
import { launch, watchedPage } from './browser.js';

let s: TestService;
let base: string;
let browser: Browser;

before(async () => {
  s = await testService();
  base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  // Failed sign-ins as the README's Flask snippet sends them: no actor id.
  const failure = {
    level: 'SECURITY',
    event: 'auth.login.failure',
    outcome: 'failure',
    actor: { email: 'mallory@example.org', ip: '203.0.113.7' },
  };
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
    body: JSON.stringify(Array.from({ length: 5 }, () => failure)),
  });
  assert.equal(res.status, 200);
  browser = await launch();
});

after(async () => {
  await (browser as Browser | undefined)?.close();
  await s.close();
});

/** The "Top sources of security events" bars, as a role sees them. */
async function topSources(role: 'auditor' | 'admin'): Promise<{ sources: Locator }> {
  const w = await watchedPage(browser);
  const { page } = w;
  await page.goto(`${base}/`);
  await page.locator('input[name=token]').fill(s.token[role]);
  await page.locator('form.signin button[type=submit]').click();
  await page.locator('header .who').waitFor();
  await page.getByRole('link', { name: 'Dashboard' }).click();
  const sources = page.locator('figure.bars', { hasText: 'Top sources of security events' });
  await sources.locator('li').first().waitFor();
  assert.deepEqual(w.problems, []);
  return { sources };
}

test('dashboard: the top source of failed sign-ins is who it is for an admin, a pseudonym for an auditor', async () => {
  const admin = (await topSources('admin')).sources;
  assert.equal(await admin.locator('li').count(), 1);
  assert.equal(await admin.locator('.bar-label').textContent(), 'mallory@example.org');
  assert.match((await admin.locator('.bar-label').getAttribute('title')) ?? '', /^sub_/);
  assert.equal(await admin.locator('.bar-count').textContent(), '5');

  const auditor = (await topSources('auditor')).sources;
  assert.match((await auditor.locator('.bar-label').textContent()) ?? '', /^sub_[\da-f]{24}$/);
  assert.equal(await auditor.locator('.bar-count').textContent(), '5');
  assert.doesNotMatch((await auditor.textContent()) ?? '', /mallory/);
});
