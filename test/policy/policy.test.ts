import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as prettier from 'prettier';
import { resolveConfig, type Config } from '../../src/config/resolve.js';
import { EVENT_CATALOGUE } from '../../src/event/catalogue.js';
import { buildPolicy, ASVS_V16_1_1 } from '../../src/policy/model.js';
import { renderMarkdown } from '../../src/policy/markdown.js';
import { renderHtml } from '../../src/policy/html.js';
import { defaultPolicyMarkdown, POLICY_DOCS_COMMAND } from '../../src/policy/docs.js';
import { slug } from '../../src/policy/doc.js';
import { REPO_ROOT } from '../helpers.js';

/** A configuration that changes something in every part of the policy. */
function custom(): Config {
  return resolveConfig(
    {
      dir: './var/logs',
      channels: {
        app: { retention: { min_days: 7, max_days: 45 }, min_level: 'WARNING' },
        scheduler: { min_level: 'ERROR' },
        billing: { durability: 'durable', retention: { min_days: 400, max_days: 800 } },
      },
      classification: {
        ip_addresses: 'truncate',
        keys: { employee_number: 'encrypt', password: 'keep' },
        patterns: [{ name: 'badge', pattern: '(?<![\\w-])<BDG>-\\d{4}(?!\\d)', mode: 'remove' }],
      },
      gdpr: {
        retention_duty: { security: null, billing: { basis: 'tax law: <invoices> 10 years' } },
      },
      detectors: {
        failed_logins: { per_account: 3, window_ms: 600_000 },
        gdpr_burst: { enabled: false },
        rules: [
          {
            name: 'many_exports',
            description: 'bulk <script>alert(1)</script> exports',
            filter: { channel: 'audit', event: 'template.export' },
            threshold: 100,
            window_ms: 600_000,
            group_by: 'actor',
          },
        ],
      },
      alerts: {
        webhook: { url: 'https://user:pw@alerts.example.org/hook/s3cr3t-path?token=abc123' },
        command: { argv: ['/usr/local/bin/notify-oncall', '--api-key', 'k-998877'] },
      },
    },
    '/srv/app',
    '/srv/app/dihya-logs.yaml',
  );
}

const md = (config: Config): string =>
  renderMarkdown(buildPolicy(config, { dir: './var/logs', source: 'dihya-logs.yaml' }));

test(`docs/policy.md is the policy of the default configuration (if this fails, run ${POLICY_DOCS_COMMAND})`, () => {
  const file = path.join(REPO_ROOT, 'docs', 'policy.md');
  const fresh = defaultPolicyMarkdown();
  const stored = readFileSync(file, 'utf8');
  assert.ok(
    stored === fresh,
    `docs/policy.md is stale: it differs from what the code generates now. Run \`${POLICY_DOCS_COMMAND}\` and commit the result.`,
  );
  assert.equal(defaultPolicyMarkdown(), fresh, 'generating twice gives the same bytes');
  assert.doesNotMatch(fresh, /\d{4}-\d\d-\d\dT\d\d:/, 'no time stamp');
  assert.doesNotMatch(fresh, /\]\(\/|`\/(?:home|tmp|root|srv|work)/, 'no absolute path');
});

test('the Markdown is stable under prettier, so docs/policy.md passes prettier --check', async () => {
  const options = {
    ...(await prettier.resolveConfig(path.join(REPO_ROOT, 'docs', 'policy.md'))),
    parser: 'markdown',
  };
  for (const text of [defaultPolicyMarkdown(), md(custom())])
    assert.equal(await prettier.format(text, options), text);
});

test('the policy names each channel with its level, durability and retention from the configuration', () => {
  const text = md(custom());
  assert.match(text, /\| `app` +\| 7 days +\| 45 days +\| none +\|/);
  assert.match(
    text,
    /\| `billing` +\| 400 days +\| 800 days +\| 400 days: tax law: \\<invoices\\> 10 years +\|/,
  );
  assert.match(text, /\| `security` +\| 365 days +\| 1825 days +\| none +\|/, 'duty removed');
  assert.match(text, /\| `audit` +\| 365 days +\| 1825 days +\| 365 days: accountability/);
  assert.match(text, /\| `app` +\| `WARNING` +\| buffered/);
  assert.match(text, /\| `billing` +\| `INFO` +\| durable/);
  // An event of the catalogue the configured minimum level drops is said to be dropped.
  assert.match(
    text,
    /\| `job\.started` .*\(not stored: below the channel's minimum level `ERROR`\)/,
  );
  assert.doesNotMatch(text, /\| `job\.failed` .*not stored/);
  for (const name of Object.keys(custom().channels)) assert.ok(text.includes(`\`${name}.log\``));
});

test('the policy states the classification rules: configured keys and patterns, built-in secrets, personal data, IP handling', () => {
  const text = md(custom());
  assert.ok(text.includes('| pattern `badge`'), 'the pattern rule is named');
  assert.ok(text.includes('`/(?<![\\w-])<BDG>-\\d{4}(?!\\d)/g`'), 'with its expression as written');
  assert.ok(text.includes('`[REDACTED:badge]`'));
  assert.ok(text.includes('| key `employeenumber`'));
  assert.match(text, /key `password`.*Warning: this replaces a built-in secret rule/);
  assert.ok(text.includes('`classification.ip_addresses: truncate`'));
  assert.ok(text.includes('`*token`'), 'secret suffixes');
  assert.ok(text.includes('detector `private_key`'));
  assert.ok(text.includes('detector `email`'));
  // password is configured (keep): it is no longer listed among the removed names.
  const secrets = text.slice(
    text.indexOf('### Secrets: removed'),
    text.indexOf('### Personal data'),
  );
  assert.doesNotMatch(secrets, /`password`/);
  assert.ok(secrets.includes('`passwd`'));

  const defaults = defaultPolicyMarkdown();
  assert.ok(
    defaults.includes('None: `classification.keys` and `classification.patterns` are empty'),
  );
  assert.ok(defaults.includes('`classification.ip_addresses: encrypt`'));
});

test('the policy lists the catalogue, the events dihya-logs writes itself, and the alerts', () => {
  const text = defaultPolicyMarkdown();
  for (const type of Object.keys(EVENT_CATALOGUE)) assert.ok(text.includes(`| \`${type}\``), type);
  for (const type of [
    'auth.failure',
    'access.denied',
    'log.read',
    'token.created',
    'token.revoked',
    'log.verify.requested',
    'service.error',
    'gdpr.export',
    'gdpr.erasure',
    'config.policy.changed',
    'alert.brute_force',
    'alert.credential_stuffing',
    'alert.tampering',
  ])
    assert.ok(text.includes(`\`${type}\``), type);
});

test('detectors and alerts: thresholds, what is off, user rules; a webhook shows its origin only, a command its program', () => {
  const text = md(custom());
  assert.match(text, /\| `failed_logins` +\| on +\|.*within 10 min.*: 3 on one account/);
  assert.match(text, /\| `gdpr_burst` +\| off +\|/);
  assert.ok(text.includes('`alert.rule.many_exports`'));
  assert.ok(text.includes('`https://alerts.example.org`'));
  assert.ok(text.includes('`notify-oncall`'));
  for (const secret of ['s3cr3t', 'abc123', 'user:pw', 'k-998877', '--api-key', '/usr/local/bin'])
    assert.ok(!text.includes(secret), `${secret} is not shown`);
  assert.ok(defaultPolicyMarkdown().includes('No webhook and no command are configured'));
});

test('the roles: what each may do and whether it sees personal values', () => {
  const text = defaultPolicyMarkdown();
  assert.match(text, /\| `ingest` +\| write events.*\| reads nothing/);
  assert.match(
    text,
    /\| `auditor` +\| query and read records.*\| not shown: pseudonyms and placeholders/,
  );
  assert.match(text, /\| `dpo` +\| .*GDPR exports.*\| shown: decrypted/);
  assert.match(
    text,
    /\| `admin` +\| everything.*tokens: create, list, revoke +\| shown: decrypted/,
  );
  assert.match(text, /\| `DELETE \/v1\/tokens\/:id` +\| revoke a token +\| `admin` +\|/);
});

test('every OWASP ASVS V16.1.1 item is answered by a section of the document, in both formats', () => {
  const doc = buildPolicy(custom());
  const text = renderMarkdown(doc);
  const html = renderHtml(doc);
  const headings = [...text.matchAll(/^#{2,4} (.+)$/gm)].map((m) => slug(m[1]!));
  const items = [
    'layer',
    'what events',
    'log formats',
    'where that logging is stored',
    'how it is used',
    'how access to it is controlled',
    'how long logs are kept',
  ];
  assert.equal(ASVS_V16_1_1.length, items.length);
  for (const [i, [item, title]] of ASVS_V16_1_1.entries()) {
    assert.ok(item.includes(items[i]!), `${item} is the V16.1.1 item "${items[i]!}"`);
    const id = slug(title);
    assert.ok(headings.includes(id), `a section "${title}" exists`);
    assert.ok(text.includes(`| [${title}](#${id})`), `the mapping links ${item} to #${id}`);
    assert.ok(html.includes(` id="${id}"`), `the HTML has an anchor #${id}`);
    assert.ok(html.includes(`<a href="#${id}">`), `and links it`);
  }
  // Each answer has content: more than a line of text before the next section of its rank.
  for (const title of ASVS_V16_1_1.map(([, t]) => t)) {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => /^#+ /.test(l) && l.endsWith(`# ${title}`));
    const rank = lines[at]!.indexOf(' ');
    const rest = lines.slice(at + 1);
    const end = rest.findIndex((l) => /^#+ /.test(l) && l.indexOf(' ') <= rank);
    assert.ok(rest.slice(0, end).join('\n').length > 300, `${title} says something`);
  }
});

test('HTML: a standalone page, every configured text escaped, no script', () => {
  const html = renderHtml(buildPolicy(custom(), { source: 'dihya-logs.yaml' }));
  assert.match(html, /^<!doctype html>\n<html lang="en">/);
  assert.ok(html.includes('<code>/(?&lt;![\\w-])&lt;BDG&gt;-\\d{4}(?!\\d)/g</code>'));
  assert.ok(!html.includes('<BDG>'), 'the pattern’s < is escaped');
  assert.ok(html.includes('bulk &lt;script&gt;alert(1)&lt;/script&gt; exports'));
  assert.ok(!/<script/i.test(html), 'no script element, not even from the configuration');
  assert.ok(html.includes('tax law: &lt;invoices&gt; 10 years'));
  assert.ok(html.includes(`content="default-src 'none'; style-src 'unsafe-inline'"`));
  assert.match(html, /<h2 id="retention-and-legal-holds">Retention and legal holds<\/h2>/);
  // Markdown escapes it too: a rule description cannot become markup on a page that renders it.
  const text = md(custom());
  assert.ok(text.includes('bulk \\<script\\>alert(1)\\</script\\> exports'));
});

test('one model, two renderers: the same sections and table rows in Markdown and HTML', () => {
  const doc = buildPolicy(custom());
  const text = renderMarkdown(doc);
  const html = renderHtml(doc);
  const mdHeadings = [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1]);
  const htmlHeadings = [...html.matchAll(/<h\d(?: id="[^"]*")?>([^<]*)<\/h\d>/g)].map((m) => m[1]);
  assert.deepEqual(htmlHeadings, mdHeadings);
  const mdRows = text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| --')).length;
  const htmlRows = (html.match(/<tr>/g) ?? []).length;
  assert.equal(htmlRows, mdRows);
});

test('control characters in configured text are shown as escapes, never written raw', () => {
  const config = resolveConfig(
    { gdpr: { retention_duty: { app: { basis: 'law\u001b[31m red\nnext line' } } } },
    '/x',
  );
  const text = md(config);
  const html = renderHtml(buildPolicy(config));
  for (const out of [text, html]) assert.ok(!out.includes('\u001b') && !out.includes('red\nnext'));
  assert.ok(html.includes('law\\u001b[31m red\\nnext line'));
  assert.ok(
    text.includes('law\\\\u001b\\[31m red\\\\nnext line'),
    'backslashes escaped in Markdown',
  );
});

test('the links of docs/policy.md lead to existing pages and headings', () => {
  const text = defaultPolicyMarkdown();
  const links = [...text.matchAll(/\]\(([^)#]*)(?:#([^)]*))?\)/g)];
  assert.ok(links.length > 10);
  for (const [, page, anchor] of links) {
    const target = page === '' ? text : readFileSync(path.join(REPO_ROOT, 'docs', page!), 'utf8');
    if (anchor === undefined) continue;
    const slugs = [...target.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!));
    assert.ok(slugs.includes(anchor), `${page ?? ''}#${anchor} exists`);
  }
});
