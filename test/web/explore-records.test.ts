import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { testService, type TestService } from '../service/helpers.js';
import { launch, shot } from './browser.js';
import { signedInPage, until } from './pages.js';

let s: TestService;
let base: string;
let browser: Browser;
const LONG_ID = `u-${'x'.repeat(298)}`;

before(async () => {
  s = await testService();
  base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/v1/events`, {
    method: 'POST',
    headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
    body: JSON.stringify([
      {
        level: 'AUDIT',
        event: 'account.update',
        outcome: 'success',
        actor: { id: LONG_ID, email: 'ana@example.org', ip: '203.0.113.9' },
        msg: 'a very long actor id',
      },
      { level: 'AUDIT', event: 'role.granted', actor: 'u-7', msg: 'short one' },
    ]),
  });
  assert.equal(res.status, 200);
  browser = await launch();
});

after(async () => {
  await (browser as Browser | undefined)?.close();
  await s.close();
});

const rowsOf = (page: Page, event: string) =>
  page.locator(`table.records tbody tr[data-event="${event}"]`);

test('explore: an actor as readable fields; a 300-character actor id is cut, not 3,000 px wide', async () => {
  // admin: personal values shown, so the actor's id is the 300 characters themselves.
  const w = await signedInPage(browser, s, base, 'admin');
  const { page } = w;
  const row = rowsOf(page, 'account.update');
  await row.waitFor();
  const actor = row.locator('td.actor');
  assert.equal(
    await actor.textContent(),
    `${LONG_ID} · ana@example.org · 203.0.113.9`,
    'id · email · ip, not JSON',
  );
  const title = (await actor.getAttribute('title')) ?? '';
  assert.equal(title, `id: ${LONG_ID}\nemail: ana@example.org\nip: 203.0.113.9`);
  const width = page.viewportSize()?.width ?? 0;
  const sizes = await page.evaluate<{ table: number; page: number; cell: number }>(
    `(() => ({
      table: document.querySelector('table.records').scrollWidth,
      page: document.documentElement.scrollWidth,
      cell: document.querySelector('table.records td.actor').clientWidth,
    }))()`,
  );
  assert.ok(sizes.table <= width, `the table fits the screen: ${sizes.table} > ${width}`);
  assert.ok(sizes.page <= width, `no sideways page scroll: ${sizes.page}`);
  assert.ok(sizes.cell < 400, `the actor's cell is cut: ${sizes.cell} px`);
  for (const cell of [page.locator('table.records th.col-msg'), row.locator('td.msgcell')]) {
    const box = await cell.boundingBox();
    assert.ok(box !== null && box.x >= 0 && box.x < width - 100, `message column: ${box?.x}`);
  }
  // The cut cell says so (an ellipsis drawn by CSS), the panel shows the whole actor.
  assert.equal(
    await page.evaluate<string>(
      `getComputedStyle(document.querySelector('table.records td.actor')).textOverflow`,
    ),
    'ellipsis',
  );
  await row.click();
  const panel = page.getByRole('complementary', { name: 'Record' });
  await panel.locator('dd.actor').waitFor();
  assert.match((await panel.locator('dd.actor').textContent()) ?? '', /^u-x{298} · ana@/);
  await shot(page, 'explore-long-actor');
  assert.deepEqual(w.problems, []);
});

test('explore: the reads of the log (log.read) are left out, and shown with the toggle', async () => {
  const w = await signedInPage(browser, s, base, 'auditor');
  const { page } = w;
  await rowsOf(page, 'account.update').waitFor();
  // The reads above were recorded; search again: still none shown.
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator('.results[aria-busy=false]').waitFor();
  await rowsOf(page, 'role.granted').waitFor();
  assert.equal(await rowsOf(page, 'log.read').count(), 0, 'no log.read by default');
  const status = (await page.locator('p.count').textContent()) ?? '';
  const shown = await page.locator('table.records tbody tr').count();
  assert.ok(status.startsWith(`${shown} records loaded`), `counts without the reads: ${status}`);

  const toggle = page.getByLabel('Show reads of the log');
  await toggle.check();
  await until(async () => (await rowsOf(page, 'log.read').count()) > 0, 'log.read rows');
  assert.ok((await rowsOf(page, 'account.update').count()) === 1);
  await shot(page, 'explore-with-reads');
  await toggle.uncheck();
  await until(async () => (await rowsOf(page, 'log.read').count()) === 0, 'no log.read rows');
  await rowsOf(page, 'account.update').waitFor();

  // Asking for the event type shows it, toggle or not.
  await page.getByLabel('Event type').fill('log.read');
  await page.getByRole('button', { name: 'Search' }).click();
  await until(async () => (await rowsOf(page, 'log.read').count()) > 0, 'log.read asked for');
  assert.deepEqual(w.problems, []);
});
