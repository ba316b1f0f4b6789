import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { verifyLogs } from '../../src/store/file/verify.js';
import { newLog, readLines } from '../helpers.js';
import { WRITER, startChild } from '../child.js';

const finalCheckpoints = (dir: string): number =>
  readLines(path.join(dir, '.integrity', 'checkpoints.log')).filter((l) =>
    l.includes('"final":true'),
  ).length;

for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  test(`on ${signal}, buffered records are written, synced and signed, and the process still stops`, async () => {
    const t = newLog();
    const child = startChild(process.execPath, [WRITER, 'linger', t.dir], t.masterKey);
    await child.waitFor((l) => l === 'written');
    child.proc.kill(signal);
    const exit = await child.exited;
    assert.equal(exit.signal, signal, 'the signal is raised again once the logs are safe');
    assert.equal(readLines(path.join(t.dir, 'app.log')).length, 500);
    assert.equal(finalCheckpoints(t.dir), 1);
    assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
  });
}

for (const how of ['exit', 'natural'] as const) {
  test(`${how === 'exit' ? 'process.exit() right after logging' : 'a process that just ends'} still writes and signs everything`, async () => {
    const t = newLog();
    const child = startChild(process.execPath, [WRITER, how, t.dir], t.masterKey);
    const exit = await child.exited;
    assert.equal(exit.code, 0, child.stderr());
    assert.equal(readLines(path.join(t.dir, 'app.log')).length, 500);
    assert.equal(finalCheckpoints(t.dir), 1);
    const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
    assert.ok(report.ok);
    assert.deepEqual(report.warnings, []);
  });
}
