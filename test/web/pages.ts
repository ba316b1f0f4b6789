import type { Browser, Page } from 'playwright-core';
import type { TestService } from '../service/helpers.js';
import { watchedPage, type Watched } from './browser.js';

/** A page signed in with a role's token, in a browser language, at a viewport size. */
export async function signedInPage(
  browser: Browser,
  s: TestService,
  base: string,
  role: 'auditor' | 'dpo' | 'admin',
  options: { lang?: string; width?: number; height?: number } = {},
): Promise<Watched> {
  const w = await watchedPage(browser, options.lang);
  if (options.width !== undefined)
    await w.page.setViewportSize({ width: options.width, height: options.height ?? 900 });
  await w.page.goto(`${base}/`);
  await w.page.locator('input[name=token]').fill(s.token[role]);
  await w.page.locator('form.signin button[type=submit]').click();
  await w.page.locator('header .who').waitFor();
  return w;
}

/**
 * The page's own words as a person meets them: visible text and aria-labels, every option of
 * every list, but not record content (elements marked translate="no": messages, event types,
 * names, the JSON of a record), which is the same whatever the language.
 */
export async function pageWords(page: Page): Promise<string> {
  // A string: the tests are compiled without DOM types.
  return page.evaluate<string>(`(() => {
    const out = [];
    const skip = (el) => el === null || el.closest('[translate="no"], noscript, script, style') !== null;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n !== null; n = walker.nextNode()) {
      if (!skip(n.parentElement) && n.textContent.trim() !== '') out.push(n.textContent.trim());
    }
    for (const el of document.body.querySelectorAll('[aria-label]')) {
      if (!skip(el)) out.push(el.getAttribute('aria-label'));
    }
    out.push(document.title);
    return out.join('\\n');
  })()`);
}

/** Wait until `f` holds (polled from here: the page's CSP forbids waitForFunction's eval). */
export async function until(f: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A running service: records written every few milliseconds until stopped, so a verification
 * always finds some after the last signed checkpoint (checkpoints come at most every second).
 */
export function keepWriting(s: TestService): () => void {
  let i = 0;
  const timer = setInterval(() => {
    s.logs.app.info({ event: 'busy.tick' }, `tick ${i++}`);
  }, 5);
  return () => clearInterval(timer);
}
