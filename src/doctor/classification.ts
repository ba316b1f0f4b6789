import { randomBytes } from 'node:crypto';
import type { ClassificationConfig } from '../redact/settings.js';
import { asLogsError } from '../errors.js';
import { prepareEvent } from '../pipeline/prepare.js';
import type { Classifier } from '../redact/classifier.js';
import { classificationSettings, compileClassifier } from '../redact/compile.js';
import { normalizeKey } from '../redact/keys.js';
import type { SubjectEntry, SubjectKeys } from '../crypto/subjects.js';
import { secretCases, type PlacedSecret } from './secrets.js';
import type { Check, CheckResult, DoctorContext, Finding } from './types.js';

/** Any run of this many characters of a secret found in the output counts as a leak. */
export const LEAK_WINDOW = 12;

/** A keystore of the self-test's own: the real one is never written. */
class ScratchKeys implements SubjectKeys {
  private readonly known = new Map<string, SubjectEntry>();
  subject(id: string): SubjectEntry {
    let e = this.known.get(id);
    if (e === undefined) {
      e = { pseudonym: `sub_${randomBytes(12).toString('hex')}`, key: randomBytes(32) };
      this.known.set(id, e);
    }
    return e;
  }
}

/** Does `haystack` hold `secret`, or any LEAK_WINDOW characters of it? */
function holds(haystack: string, secret: string): boolean {
  if (secret.length <= LEAK_WINDOW) return haystack.includes(secret);
  for (let i = 0; i + LEAK_WINDOW <= secret.length; i++)
    if (haystack.includes(secret.slice(i, i + LEAK_WINDOW))) return true;
  return false;
}

/** The configuration keys that can let this secret through: key rules and patterns. */
function culprits(c: ClassificationConfig, classifier: Classifier, s: PlacedSecret): string[] {
  const out: string[] = [];
  for (const key of s.path) {
    const rule = classifier.keyRule(key);
    if (rule?.source !== 'config') continue;
    const given = Object.keys(c.keys).find((k) => normalizeKey(k) === normalizeKey(key)) ?? key;
    out.push(`classification.keys.${given}: ${rule.mode}`);
  }
  for (const p of c.patterns) {
    if (p.mode === 'remove' || p.mode === 'mask') continue;
    const re = new RegExp(p.pattern, p.ignoreCase ? 'i' : '');
    if (re.test(s.text)) out.push(`classification.patterns (${p.name}, mode ${p.mode})`);
  }
  return out;
}

/**
 * Feeds known secrets of every common kind, fresh each run, through the classification as
 * configured, the way the writer prepares an event; none of them (nor LEAK_WINDOW characters
 * of one) may come out in the stored form. A secret kept as encrypted personal data instead of
 * removed is a warning: not readable on disk, but readable by anyone who may see personal data.
 */
export const classificationCheck: Check = {
  id: 'classification',
  title: 'classification self-test',
  run(ctx: DoctorContext): CheckResult {
    const c = ctx.config.classification;
    const classifier = compileClassifier(c);
    const settings = classificationSettings(c, classifier, new ScratchKeys());
    const file = ctx.config.source ?? 'dihya-logs.yaml';
    const fails: Finding[] = [];
    const warns: Finding[] = [];
    const cases = secretCases();
    for (const sc of cases) {
      let stored: string;
      let encrypted: string;
      try {
        const p = prepareEvent(sc.event, { ...ctx.config.limits, classification: settings });
        stored = p.pre + p.post + p.mid;
        encrypted = (p.pii ?? []).map((x) => x.plain).join('\n');
      } catch (err) {
        const e = asLogsError(err);
        fails.push({
          what: `${sc.kind}: the self-test event was refused (${e.code}: ${e.message})`,
          fix: `check the classification and limits in ${file}`,
        });
        continue;
      }
      const inClear = sc.secrets.filter((s) => holds(stored, s.value));
      const inPii = sc.secrets.filter((s) => !inClear.includes(s) && holds(encrypted, s.value));
      const blame = (list: readonly PlacedSecret[]): string[] => [
        ...new Set(list.flatMap((s) => culprits(c, classifier, s))),
      ];
      if (inClear.length > 0) {
        const keys = blame(inClear);
        fails.push({
          what: `${sc.kind}: the secret came out in clear in the stored record (at ${inClear[0]?.path.join('.') ?? '?'})`,
          fix:
            keys.length > 0
              ? `remove or change ${keys.join(', ')} in ${file}`
              : `no configured rule explains it: add a classification.patterns entry with mode remove for it in ${file}, and report the gap`,
        });
      } else if (inPii.length > 0) {
        const keys = blame(inPii);
        warns.push({
          what: `${sc.kind}: the secret was kept as encrypted personal data instead of removed (at ${inPii[0]?.path.join('.') ?? '?'}): readable by dpo and admin`,
          fix:
            keys.length > 0
              ? `remove or change ${keys.join(', ')} in ${file}`
              : `add a classification.patterns entry with mode remove for it in ${file}`,
        });
      }
    }
    const kinds = `${cases.length} kinds of secret`;
    if (fails.length > 0)
      return {
        status: 'fail',
        summary: `${kinds}: ${fails.length} leaked into the stored record`,
        findings: [...fails, ...warns],
      };
    if (warns.length > 0)
      return {
        status: 'warn',
        summary: `${kinds}: none stored in clear, ${warns.length} kept encrypted`,
        findings: warns,
      };
    return {
      status: 'ok',
      summary: `${kinds} (password, Authorization header, JWT, AWS keys, PEM key, card number, GitHub token, cookie, API key, URL password): all removed`,
      findings: [],
    };
  },
};
