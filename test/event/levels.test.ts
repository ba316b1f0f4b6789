import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LEVELS,
  parseLevel,
  severityLevel,
  syslogSeverityLevel,
  type Level,
} from '../../src/event/levels.js';
import { expectCode } from '../helpers.js';

// RFC 5424 section 6.2.1, with the spellings syslog-ng, rsyslog, journald and Python use.
const SYSLOG_NAMES: ReadonlyArray<readonly [string, Level]> = [
  ['emerg', 'CRITICAL'],
  ['emergency', 'CRITICAL'],
  ['panic', 'CRITICAL'],
  ['alert', 'CRITICAL'],
  ['crit', 'CRITICAL'],
  ['critical', 'CRITICAL'],
  ['err', 'ERROR'],
  ['error', 'ERROR'],
  ['warning', 'WARNING'],
  ['warn', 'WARNING'],
  ['notice', 'INFO'],
  ['info', 'INFO'],
  ['informational', 'INFO'],
  ['debug', 'DEBUG'],
];

test('every syslog severity name maps to a level, in any case, as a foreign severity and as a level', () => {
  for (const [name, level] of SYSLOG_NAMES) {
    for (const spelling of [
      name,
      name.toUpperCase(),
      name.charAt(0).toUpperCase() + name.slice(1),
    ]) {
      assert.equal(severityLevel(spelling), level, `severity ${spelling}`);
      assert.equal(parseLevel(spelling), level, `level ${spelling}`);
    }
  }
});

test('numeric syslog severities 0-7 (numbers or digits, as journald writes PRIORITY) map by the same table', () => {
  const byNumber: Level[] = [
    'CRITICAL',
    'CRITICAL',
    'CRITICAL',
    'ERROR',
    'WARNING',
    'INFO',
    'INFO',
  ];
  byNumber.push('DEBUG');
  for (let n = 0; n <= 7; n++) {
    assert.equal(syslogSeverityLevel(n), byNumber[n], `severity ${n}`);
    assert.equal(syslogSeverityLevel(String(n)), byNumber[n], `severity "${n}"`);
  }
  // Not severities: a PRI (facility × 8 + severity), fractions, negatives, padded digits.
  for (const v of [8, 13, 191, -1, 2.5, '08', ' 3', '3 ', '', null, undefined, true, {}])
    assert.equal(syslogSeverityLevel(v), undefined, `${JSON.stringify(v)} is not a severity`);
});

test('AUDIT and SECURITY are never reached from a foreign severity, by name or number', () => {
  for (const name of ['audit', 'AUDIT', 'Security', 'SECURITY'])
    assert.equal(severityLevel(name), undefined, name);
  const reached = new Set<Level | undefined>();
  for (const [name] of SYSLOG_NAMES) reached.add(severityLevel(name));
  for (let n = 0; n <= 7; n++) reached.add(syslogSeverityLevel(n));
  assert.ok(!reached.has('AUDIT') && !reached.has('SECURITY'));
  assert.deepEqual(
    LEVELS.filter((l) => reached.has(l)),
    ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'],
  );
});

test('a producer may still name AUDIT and SECURITY as its own level; unknown words stay refused', async () => {
  assert.equal(parseLevel('audit'), 'AUDIT');
  assert.equal(parseLevel('SECURITY'), 'SECURITY');
  for (const word of ['loud', 'notic', 'emergencies', 'x'.repeat(17)])
    await expectCode('EVENT_LEVEL_UNKNOWN', () => parseLevel(word));
  assert.equal(severityLevel('loud'), undefined);
  assert.equal(severityLevel(5), undefined, 'a number is not a severity name');
});
