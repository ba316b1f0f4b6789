import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from './helpers.js';

test('revoking a token twice over HTTP: 409 TOKEN_ALREADY_REVOKED the second time, one token.revoked record', async () => {
  const s = await testService();
  try {
    const made = s.tokens.create('ingest', 'to revoke twice');
    const url = `/v1/tokens/${made.info.id}`;
    const first = await s.app.inject({ method: 'DELETE', url, headers: s.auth('admin') });
    assert.equal(first.statusCode, 200, first.body);
    const again = await s.app.inject({ method: 'DELETE', url, headers: s.auth('admin') });
    assert.equal(again.statusCode, 409, again.body);
    const body = JSON.parse(again.body) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'TOKEN_ALREADY_REVOKED');
    assert.match(body.error.message, /already revoked at \d{4}-/);
    await s.logs.flush();
    const revoked = s
      .records('audit')
      .filter(
        (r) =>
          r.event === 'token.revoked' &&
          (r.data as { token_id?: string } | undefined)?.token_id === made.info.id,
      );
    assert.equal(revoked.length, 1, 'the second revocation records nothing');
  } finally {
    await s.close();
  }
});
