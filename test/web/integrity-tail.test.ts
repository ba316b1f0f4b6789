import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { testService, type TestService } from '../service/helpers.js';
import { launch, shot } from './browser.js';
import { keepWriting, signedInPage } from './pages.js';

let s: TestService;
let base: string;
let browser: Browser;

before(async () => {
  s = await testService();
  base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  for (let i = 0; i < 5; i++) s.logs.app.info({ event: 'step' }, `step ${i}`);
  await s.logs.flush();
  browser = await launch();
});

after(async () => {
  await (browser as Browser | undefined)?.close();
  await s.close();
});

test('integrity: records not signed yet after a verification of a running service are explained as normal, not as a failure', async () => {
  const w = await signedInPage(browser, s, base, 'auditor');
  const { page } = w;
  await page.getByRole('link', { name: 'Integrity' }).click();
  const stop = keepWriting(s);
  try {
    await page.getByRole('button', { name: 'Run verification' }).click();
    await page.locator('.verdict.ok').waitFor({ timeout: 30_000 });
  } finally {
    stop();
  }
  // The newest records (the verification's own audit record, the page's reads, the app's)
  // came after the last checkpoint.
  const note = page.locator('.note.unsigned');
  await note.waitFor();
  const text = (await note.textContent()) ?? '';
  assert.match(text, /Newest records not signed yet: normal/);
  assert.match(text, /the verification’s own audit record among them/);
  assert.match(text, /they are signed at the next checkpoint\. Nothing is wrong\./);
  assert.match(text, /(?:app|audit): \d+ records? waits? for the next checkpoint/);
  // Neutral: no alert, no red verdict, no warning heading for it, no raw kind name.
  assert.equal(await note.getAttribute('role'), null);
  assert.equal(await page.locator('[role=alert], .verdict.bad').count(), 0);
  const body = await page.locator('main').innerText();
  assert.doesNotMatch(body, /unsigned_tail|not yet signed|DAMAGE/);
  const colour = await page.evaluate<string>(
    `getComputedStyle(document.querySelector('.note.unsigned')).color`,
  );
  assert.notEqual(colour, 'rgb(164, 22, 26)', 'not in the colour of damage');
  await shot(page, 'integrity-unsigned-tail');
  assert.deepEqual(w.problems, []);
});
