import assert from 'node:assert/strict';
import test from 'node:test';
import {
  decodeBatch,
  encodeRecord,
  type DecodedRecord,
} from '../../../src/store/file/sequencer/protocol.js';

test('a batch of records crosses to the sequencer thread unchanged, personal data and idempotency keys included', () => {
  const key = Buffer.alloc(32, 7);
  const records = [
    {
      channel: 0,
      id: 0,
      mode: 'f',
      ts: '2026-11-24T10:00:00.000Z',
      skew: 0,
      event: { pre: '{"channel":"app",', post: '', mid: '' },
    },
    {
      channel: 3,
      id: 41,
      mode: 'd',
      ts: '2026-11-24T10:00:00.001Z',
      skew: 12,
      event: {
        pre: '{"msg":"é ✓ 😀 \\u0001",',
        post: '"request_id":"r-1",',
        mid: '"sub":"sub_1",',
        pii: [
          { pseudonym: 'sub_1', key, plain: '{"[email#1]":"a@b.example"}' },
          { pseudonym: 'sub_2', key: Buffer.alloc(32, 9), plain: '{"[ip#1]":"203.0.113.9"}' },
        ],
      },
    },
    {
      channel: 12,
      id: 42,
      mode: 'a',
      ts: '2026-11-24T10:00:00.002Z',
      skew: 0,
      event: { pre: '{', post: '', mid: '"target":{}' },
    },
    {
      channel: 1,
      id: 43,
      mode: 'd',
      ts: '2026-11-24T10:00:00.003Z',
      skew: 0,
      event: { pre: '{"idempotency_key":"k-1",', post: '', mid: '', idem: 'k-1' },
    },
    {
      channel: 1,
      id: 44,
      mode: 'f',
      ts: '2026-11-24T10:00:00.004Z',
      skew: 0,
      event: {
        pre: '{"idempotency_key":"!\\"~",',
        post: '',
        mid: '"sub":"sub_1",',
        pii: [{ pseudonym: 'sub_1', key, plain: '{"[email#1]":"a@b.example"}' }],
        idem: '!\\"~',
      },
    },
  ] satisfies DecodedRecord[];
  const data = records
    .map((r) => encodeRecord(r.channel, r.id, r.mode, r.ts, r.skew, r.event))
    .join('');
  const out: DecodedRecord[] = [];
  decodeBatch(data, (r) => out.push(r));
  assert.deepEqual(out, records);
});
