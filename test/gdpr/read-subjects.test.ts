import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_READ_SUBJECTS, ReadSubjects, readMatch } from '../../src/gdpr/read-subjects.js';

const p = (n: number): string => `sub_${n.toString(16).padStart(24, '0')}`;
const known = new Map([
  ['alice-1', p(1)],
  ['token:ab12', p(9)],
]);
const options = {
  pseudonymOf: (id: string) => known.get(id),
  personTypes: ['user'],
  maxRecordBytes: 64 * 1024,
};

test('a read names the sub, a person actor and a person target, stored or revealed, once each', () => {
  const s = new ReadSubjects(options);
  s.addRecord({ sub: p(1), actor: { id: 'alice-1' } }); // revealed: the id back to its pseudonym
  s.addRecord({ sub: p(1), actor: { id: p(2), type: 'user' }, target: { id: p(3), type: 'user' } });
  s.addRecord({ actor: { id: 'token:ab12', type: 'token' }, target: { id: p(4) } }); // not people
  s.addRecord({ actor: { id: 'nobody-7' } }); // unknown to the keystore: left out
  s.addRecord(undefined);
  s.addFilter({ subjects: [p(5), 'unknown-id'], actors: [p(6)] });
  assert.deepEqual(s.data(), { subjects: [p(1), p(2), p(3)], filter_subjects: [p(5), p(6)] });
});

test('the list is bounded by 1,000 and by half the record limit, then flagged', () => {
  const many = new ReadSubjects(options);
  for (let i = 0; i < MAX_READ_SUBJECTS + 5; i++) many.addRecord({ sub: p(i + 100) });
  const data = many.data();
  assert.equal(data.subjects.length, MAX_READ_SUBJECTS);
  assert.equal(data.subjects_truncated, true);
  assert.ok(JSON.stringify(data).length < options.maxRecordBytes / 2);

  const small = new ReadSubjects({ ...options, maxRecordBytes: 1024 });
  for (let i = 0; i < 40; i++) small.addRecord({ sub: p(i + 100) });
  assert.equal(small.data().subjects.length, 16);
  assert.equal(small.data().subjects_truncated, true);
  const exact = new ReadSubjects({ ...options, maxRecordBytes: 1024 });
  for (let i = 0; i < 16; i++) exact.addRecord({ sub: p(i + 100) });
  assert.equal(exact.data().subjects_truncated, undefined, 'exactly full is not truncated');
});

test('readMatch: returned, searched, may include, or not about the person; hostile data is none', () => {
  const mine = new Set([p(1)]);
  assert.equal(readMatch({ subjects: [p(2), p(1)] }, mine), 'returned');
  assert.equal(readMatch({ subjects: [p(2)], filter_subjects: [p(1)] }, mine), 'searched');
  assert.equal(readMatch({ subjects: [p(2)], subjects_truncated: true }, mine), 'may_include');
  assert.equal(readMatch({ subjects: [p(2)] }, mine), undefined);
  for (const bad of [null, 'x', [], { subjects: p(1) }, { subjects: [1, {}] }])
    assert.equal(readMatch(bad, mine), undefined);
});
