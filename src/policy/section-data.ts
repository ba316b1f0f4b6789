import { describeClassification, type RuleDescription } from '../redact/describe.js';
import {
  code,
  codes,
  list,
  markup,
  paragraph,
  section,
  t,
  table,
  text,
  type Inline,
} from './doc.js';
import type { Block, Section } from './doc.js';
import { docLink, type PolicyContext } from './context.js';

/** What is never logged, what is encrypted: the classification rules, as configured. */
export function dataSection(ctx: PolicyContext): Section {
  const rules = describeClassification(ctx.classifier);
  const overridden = new Set(rules.filter((r) => r.source === 'config').map((r) => r.match));
  const builtIn = rules.filter(
    (r) => r.source === 'built-in' && !(r.kind === 'key' && overridden.has(r.match)),
  );
  return section(
    'What is never logged and what is encrypted',
    [
      paragraph(
        t`Every event is classified before it is stored, in the process that writes it: secrets are removed and never stored in any form (no hash, no prefix); personal data is replaced by a placeholder and stored encrypted (AES-256-GCM) under a key of the person it belongs to, so it can be exported and erased (${docLink(ctx, 'classification.md', 'classification.md')}). Everything else is stored as given. Every string is scanned (message, request id, actor, target, data at any depth, error messages and stacks, URLs, headers), and every key name.`,
      ),
      list([
        t`Never stored: the secrets below; the secret part of service tokens (only their id); the arguments of commands run by ${code('dihya-logs run')} (only the program's name and their number); binary data (${code('[binary N bytes]')}); the master key and the signing key.`,
        t`Refused: an event type or channel name that holds a secret or personal data, a record over the size or depth limits.`,
      ]),
    ],
    [configured(ctx, rules), secrets(builtIn), personal(ctx, builtIn), ip(ctx)],
  );
}

const MODES: Readonly<Record<string, string>> = {
  remove: 'removed: `[REDACTED:<name>]`',
  mask: 'masked: `[REDACTED:<name> ****1234]` (last 4 digits kept)',
  encrypt: 'encrypted under the person’s key: `[<name>#n]`',
  identifier: 'a person’s id: replaced by their pseudonym',
  keep: 'kept as given: no other rule applies to it',
};

/** The effect of a configured rule, its name in the placeholder: `[REDACTED:badge]`. */
function modeText(mode: string, name: string): Inline {
  return markup(MODES[mode] ?? mode).map((s) =>
    'code' in s ? { code: s.code.replace('<name>', name) } : s,
  );
}

function configured(ctx: PolicyContext, rules: readonly RuleDescription[]): Section {
  const blocks: Block[] = [];
  const keys = rules.filter((r) => r.source === 'config' && r.kind === 'key');
  const patterns = ctx.classifier.rules.patterns;
  if (keys.length === 0 && patterns.length === 0) {
    blocks.push(
      paragraph(
        t`None: ${code('classification.keys')} and ${code('classification.patterns')} are empty, the built-in rules below apply.`,
      ),
    );
  } else {
    const weakened = (r: RuleDescription): Inline =>
      rules.some(
        (b) =>
          b.source === 'built-in' &&
          b.kind === 'key' &&
          b.match === r.match &&
          (b.mode === 'remove' || b.mode === 'mask') &&
          r.mode !== 'remove' &&
          r.mode !== 'mask',
      )
        ? t` **Warning: this replaces a built-in secret rule; the value is no longer removed.**`
        : [];
    blocks.push(
      paragraph(
        t`They win over the built-in rules. Key names are compared after removing case, white space, ${code('_')}, ${code('.')} and ${code('-')}.`,
      ),
      table(
        ['rule', 'matches', 'effect'],
        [
          ...keys.map((r) => [
            t`key ${code(r.match)}`,
            t`a field named so, at any depth`,
            [...modeText(r.mode, r.match), ...weakened(r)],
          ]),
          ...patterns.map((p) => [
            t`pattern ${code(p.name)}`,
            t`${code(`/${p.regex.source}/${p.regex.flags}`)} in any string`,
            modeText(p.mode, p.name),
          ]),
        ],
      ),
    );
  }
  return section('Rules from the configuration', blocks);
}

/** Built-in key rules grouped by what replaces them; secret names of their own share one row. */
function keyGroups(rules: readonly RuleDescription[], modes: readonly string[]): Inline[][] {
  const groups = new Map<string, RuleDescription[]>();
  for (const r of rules) {
    if (r.kind !== 'key' || !modes.includes(r.mode)) continue;
    const key = `${r.mode}:${r.description ?? r.match}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const single = (members: readonly RuleDescription[]): boolean =>
    members.length === 1 &&
    members[0]?.mode === 'remove' &&
    members[0].description === members[0].match;
  const merged = [...groups.values()].filter(single).flat();
  const entries = [...groups.entries()].filter(([, m]) => !single(m));
  if (merged.length > 0) entries.unshift(['remove:*', merged]);
  return entries.map(([key, members]) => {
    const [mode = '', name = ''] = key.split(':');
    const stored =
      mode === 'remove'
        ? t`${code(name === '*' ? '[REDACTED:<name>]' : `[REDACTED:${name}]`)}`
        : mode === 'mask'
          ? t`${code(`[REDACTED:${name} ****1111]`)} (last 4 digits of 12 or more)`
          : mode === 'identifier'
            ? t`the person's pseudonym ${code('sub_…')}`
            : t`${code(`[${name}#n]`)}, encrypted`;
    return [text('key name'), codes(members.map((m) => m.match)), stored];
  });
}

function secrets(rules: readonly RuleDescription[]): Section {
  const suffixes = rules.filter((r) => r.kind === 'key-suffix').map((r) => r.match);
  const detectors = rules.filter(
    (r) => r.kind === 'detector' && (r.mode === 'remove' || r.mode === 'mask'),
  );
  return section('Secrets: removed', [
    paragraph(
      t`The whole value under one of these key names is replaced, whatever its type; a detector replaces only the secret part of a string.`,
    ),
    table(
      ['matched by', 'names or detector', 'stored as'],
      [
        ...keyGroups(rules, ['remove', 'mask']),
        [text('key name ending in'), codes(suffixes), t`${code('[REDACTED:<suffix>]')}`],
        ...detectors.map((d) => [
          t`detector ${code(d.match)}`,
          text(d.description ?? ''),
          d.mode === 'mask'
            ? t`${code('[REDACTED:card ****1111]')}`
            : t`${code('[REDACTED:<kind>]')}`,
        ]),
      ],
    ),
  ]);
}

const PLACEHOLDER: Readonly<Record<string, string>> = { ipv4: 'ip', ipv6: 'ip' };

function personal(ctx: PolicyContext, rules: readonly RuleDescription[]): Section {
  const c = ctx.config.classification;
  const detectors = rules.filter(
    (r) => r.kind === 'detector' && r.mode !== 'remove' && r.mode !== 'mask',
  );
  return section('Personal data: encrypted', [
    list([
      t`Fields of the actor, and of a target that is a person, that are personal data (${code('classification.personal_fields')}): ${codes(c.personalFields)}. An ${code('id')} becomes the person's pseudonym; any other is encrypted.`,
      t`A target is a person when its ${code('type')} is one of (${code('classification.person_types')}): ${codes(c.personTypes)}.`,
      t`Whose data a record is about (its subject, stored as the pseudonym ${code('sub')}) comes from the first present of (${code('classification.subject_fields')}): ${codes(c.subjectFields)}; else from the actor's e-mail address, else from the first e-mail address, phone number, national id, NIR, IBAN or IP address found in it.`,
    ]),
    table(
      ['matched by', 'names or detector', 'stored as'],
      [
        ...keyGroups(rules, ['encrypt', 'identifier']),
        ...detectors.map((d) => [
          t`detector ${code(d.match)}`,
          text(d.description ?? ''),
          d.mode === 'keep'
            ? t`truncated and kept in clear (see below)`
            : t`${code(`[${PLACEHOLDER[d.match] ?? d.match}#n]`)}, encrypted`,
        ]),
      ],
    ),
    paragraph(
      t`The identifiers themselves are kept once, in the subject keystore (${code('.keys/')}), encrypted under each person's key. Erasing a person destroys that key: their records stay in place, unreadable, and the hash chain still verifies.`,
    ),
  ]);
}

function ip(ctx: PolicyContext): Section {
  const mode = ctx.config.classification.ipAddresses;
  return section('IP addresses', [
    paragraph(
      mode === 'encrypt'
        ? t`${code('classification.ip_addresses: encrypt')}: IP addresses are personal data, encrypted like the others (${code('[ip#n]')}).`
        : t`${code('classification.ip_addresses: truncate')}: IP addresses are cut to their network and kept in clear: IPv4 to /24 (${code('203.0.113.0/24')}), IPv6 to /48. A value under an IP key that is not an address is encrypted.`,
    ),
    paragraph(
      t`Loopback (${code('127.*')}, ${code('::1')}) and unspecified addresses are not personal data and are kept.`,
    ),
  ]);
}
