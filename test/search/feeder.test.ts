import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexDb } from '../../src/search/index-db.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { newLog } from '../helpers.js';
import { writeSome } from './helpers.js';

test('with index.live, the writing process indexes new records in the background', async () => {
  const t = newLog();
  const logs = await t.open({ settings: { index: { live: true, interval_ms: 100 } } });
  const layout = new LogLayout(t.dir);
  try {
    await writeSome(logs, 40);
    await logs.lifecycle.rotate('app'); // records now in a segment; the feeder follows it
    await writeSome(logs, 25, 40);
    const db = IndexDb.open(layout, t.logId);
    try {
      const count = (): number =>
        (
          db.connection
            .prepare("SELECT count(*) AS n FROM records_view WHERE channel = 'app'")
            .get() as { n: number }
        ).n;
      for (let i = 0; i < 200 && count() < 65; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(count(), 65, 'every app record indexed without a catch-up by the reader');
      assert.equal(db.state('app')?.indexedSeq, 65);
    } finally {
      db.close();
    }
  } finally {
    await logs.close(); // stops the feeder thread: the test process can end
  }
});
