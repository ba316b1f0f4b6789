import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogsError } from '../../src/errors.js';
import type { JobEvent } from '../../src/scheduler/events.js';
import {
  Scheduler,
  type JobFn,
  type RetryPolicy,
  type SchedulerOptions,
} from '../../src/scheduler/scheduler.js';
import { expectCode } from '../helpers.js';
import { FakeClock, settle } from './fake-clock.js';

interface Seen {
  readonly at: string;
  readonly event: string;
  readonly job: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly e: JobEvent;
}

function harness(
  jobs: Array<{ name: string; cron: string; run: JobFn }>,
  retry: RetryPolicy = { attempts: 0, backoffMs: 1000 },
  start = '2025-01-01T00:00:30.000Z',
  more: Partial<SchedulerOptions> = {},
): { clock: FakeClock; scheduler: Scheduler; events: Seen[] } {
  const clock = new FakeClock(start);
  const events: Seen[] = [];
  const scheduler = new Scheduler({
    jobs,
    retry,
    clock,
    onEvent: (e) => {
      events.push({ at: clock.iso, event: e.event, job: e.target.id, data: e.data, e });
    },
    ...more,
  });
  return { clock, scheduler, events };
}

test('jobs run at their cron times (UTC), each run recorded as started then finished with duration and counts', async () => {
  const ran: Record<string, string[]> = { quarter: [], hourly: [] };
  const { clock, scheduler, events } = harness([
    {
      name: 'quarter',
      cron: '*/15 * * * *',
      run: async () => {
        ran.quarter?.push(clock.iso);
        await clock.sleep(5000); // the job takes 5 s of the clock's time
        return { segments: 2, bytes: 1024 };
      },
    },
    {
      name: 'hourly',
      cron: '0 * * * *',
      run: () => {
        ran.hourly?.push(clock.iso);
        return Promise.resolve({});
      },
    },
  ]);
  await clock.advance(2 * 60 * 60 * 1000);
  assert.deepEqual(ran.quarter, [], 'nothing runs before start()');
  scheduler.start();
  assert.deepEqual(
    scheduler.schedule().map((s) => [s.name, s.next?.toISOString()]),
    [
      ['quarter', '2025-01-01T02:15:00.000Z'],
      ['hourly', '2025-01-01T03:00:00.000Z'],
    ],
  );
  await clock.advance(60 * 60 * 1000);
  assert.deepEqual(ran.quarter, [
    '2025-01-01T02:15:00.000Z',
    '2025-01-01T02:30:00.000Z',
    '2025-01-01T02:45:00.000Z',
    '2025-01-01T03:00:00.000Z',
  ]);
  assert.deepEqual(ran.hourly, ['2025-01-01T03:00:00.000Z']);
  const quarter = events.filter((e) => e.job === 'quarter');
  assert.deepEqual(
    quarter.map((e) => `${e.event}@${e.at.slice(11, 19)}`),
    [
      'job.started@02:15:00',
      'job.finished@02:15:05',
      'job.started@02:30:00',
      'job.finished@02:30:05',
      'job.started@02:45:00',
      'job.finished@02:45:05',
      'job.started@03:00:00',
      'job.finished@03:00:05',
    ],
  );
  assert.deepEqual(quarter[0]?.data, { trigger: 'cron', attempt: 1 });
  assert.deepEqual(quarter[1]?.data, {
    attempt: 1,
    duration_ms: 5000,
    counts: { segments: 2, bytes: 1024 },
  });
  const finished = quarter[1].e;
  assert.equal(finished.channel, 'scheduler');
  assert.equal(finished.level, 'INFO');
  assert.equal(finished.outcome, 'success');
  assert.deepEqual(finished.target, { type: 'job', id: 'quarter' });
  await scheduler.stop();
  assert.equal(clock.pending, 0, 'stop() leaves no timer behind');
});

test('a failed job is retried with exponential backoff, capped, then given up; each attempt is recorded', async () => {
  let calls = 0;
  const { clock, scheduler, events } = harness(
    [
      {
        name: 'flaky',
        cron: '0 0 * * *',
        run: ({ attempt }) => {
          calls += 1;
          assert.equal(attempt, calls);
          return Promise.reject(new LogsError('IO_ERROR', 'disk on fire'));
        },
      },
    ],
    { attempts: 3, backoffMs: 1000 },
    '2025-01-01T23:59:59.000Z',
    { maxBackoffMs: 3000 },
  );
  scheduler.start();
  await clock.advance(60_000);
  assert.equal(calls, 4, 'one run and three retries');
  const started = events.filter((e) => e.event === 'job.started');
  assert.deepEqual(
    started.map((e) => [e.at.slice(11), e.data.trigger, e.data.attempt]),
    [
      ['00:00:00.000Z', 'cron', 1],
      ['00:00:01.000Z', 'retry', 2], // + 1 s
      ['00:00:03.000Z', 'retry', 3], // + 2 s
      ['00:00:06.000Z', 'retry', 4], // + 4 s, capped at 3 s
    ],
  );
  const failed = events.filter((e) => e.event === 'job.failed');
  assert.equal(failed.length, 4);
  assert.deepEqual(failed[0]?.data, {
    attempt: 1,
    attempts: 4,
    duration_ms: 0,
    code: 'IO_ERROR',
    retry_in_ms: 1000,
    retry_at: '2025-01-02T00:00:01.000Z',
  });
  assert.equal(failed[3]?.data.retry_at, undefined, 'the last failure plans no retry');
  assert.equal(failed[0].e.level, 'ERROR');
  assert.equal(failed[0].e.outcome, 'failure');
  assert.match(failed[3]?.e.msg ?? '', /^flaky failed \(attempt 4 of 4\): IO_ERROR: disk on fire$/);
  assert.equal(events.length, 8, 'started and failed, alternating');
  await scheduler.stop();
});

test('a retry that succeeds ends the run; an ordinary exception is recorded as JOB_FAILED', async () => {
  let calls = 0;
  const { clock, scheduler, events } = harness(
    [
      {
        name: 'once-bad',
        cron: '0 0 1 1 *',
        run: () => {
          calls += 1;
          if (calls === 1) return Promise.reject(new TypeError('boom'));
          return Promise.resolve({ done: 1, bad: Number.NaN });
        },
      },
    ],
    { attempts: 2, backoffMs: 500 },
  );
  const result = scheduler.runNow('once-bad');
  await clock.advance(10_000);
  assert.deepEqual(await result, {
    status: 'finished',
    job: 'once-bad',
    attempts: 2,
    durationMs: 500, // the whole run: the first attempt, the wait, the second
    counts: { done: 1 }, // a count that is not a finite number is not recorded
  });
  assert.deepEqual(
    events.map((e) => [e.event, e.data.code ?? e.data.trigger ?? null]),
    [
      ['job.started', 'manual'],
      ['job.failed', 'JOB_FAILED'],
      ['job.started', 'retry'],
      ['job.finished', null],
    ],
  );
});

test('a job never runs twice at once: cron times and runNow() while it runs are skipped and counted', async () => {
  let active = 0;
  let most = 0;
  const starts: string[] = [];
  const { clock, scheduler, events } = harness(
    [
      {
        name: 'slow',
        cron: '* * * * *',
        run: async () => {
          active += 1;
          most = Math.max(most, active);
          starts.push(clock.iso.slice(11, 19));
          await clock.sleep(150_000); // 2.5 minutes: longer than the period
          active -= 1;
          return {};
        },
      },
    ],
    undefined,
    '2025-01-01T00:00:30.000Z',
  );
  scheduler.start();
  await clock.advance(60_000); // 00:01:30, running since 00:01
  assert.deepEqual(await scheduler.runNow('slow'), { status: 'skipped', job: 'slow' });
  await clock.advance(4 * 60_000); // to 00:05:30
  assert.equal(most, 1);
  // 00:01 runs until 00:03:30: 00:02 and 00:03 are skipped (and the runNow); 00:04 runs.
  assert.deepEqual(starts, ['00:01:00', '00:04:00']);
  const second = events.filter((e) => e.event === 'job.started')[1];
  assert.deepEqual(second?.data, { trigger: 'cron', attempt: 1, skipped: 3 });
  await clock.advance(60_000); // 00:06:30: 00:05 was skipped again, 00:06 is still not free
  assert.deepEqual(starts, ['00:01:00', '00:04:00']);
  await clock.advance(60_000);
  assert.deepEqual(starts, ['00:01:00', '00:04:00', '00:07:00']);
  // This job ignores the abort signal: stop() waits until it is done.
  const stopping = scheduler.stop();
  await clock.advance(150_000);
  await stopping;
  assert.equal(active, 0);
});

test('stop() asks running jobs to stop, waits for them and their record, and cancels planned retries', async () => {
  let sawAbort = false;
  let release: () => void = () => undefined;
  const { clock, scheduler, events } = harness(
    [
      {
        name: 'long',
        cron: '0 * * * *',
        run: ({ signal }) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              sawAbort = true;
              // It takes a while to wind down: stop() must wait for it.
              release = () => reject(new LogsError('IO_ERROR', 'interrupted'));
            });
          }),
      },
      {
        name: 'failing',
        cron: '0 * * * *',
        run: () => Promise.reject(new Error('nope')),
      },
    ],
    { attempts: 5, backoffMs: 60_000 },
  );
  scheduler.start();
  await clock.advance(60 * 60_000); // 01:00:30: long runs, failing waits for its retry
  assert.deepEqual(
    events.map((e) => `${e.job} ${e.event}`),
    ['long job.started', 'failing job.started', 'failing job.failed'],
  );
  let stopped = false;
  const stopping = scheduler.stop().then(() => {
    stopped = true;
  });
  await settle();
  assert.equal(sawAbort, true, 'the job got the abort signal');
  assert.equal(stopped, false, 'stop() waits for the running job');
  release();
  await stopping;
  const last = events.at(-1)!;
  assert.equal(last.event, 'job.failed');
  assert.equal(last.job, 'long');
  assert.equal(last.data.aborted, true);
  assert.equal(last.data.retry_at, undefined, 'no retry after stop()');
  assert.equal(events.filter((e) => e.job === 'failing').length, 2, 'its retry was dropped');
  assert.equal(clock.pending, 0, 'no timer left');
  await expectCode('USAGE', () => scheduler.runNow('long'));
  await clock.advance(24 * 60 * 60_000);
  assert.equal(events.length, 4, 'nothing runs after stop()');
});

test("a run's events are stored in order: the job starts only once job.started is stored", async () => {
  const order: string[] = [];
  const clock = new FakeClock('2025-01-01T00:00:00.000Z');
  const scheduler = new Scheduler({
    jobs: [
      {
        name: 'j',
        cron: '0 * * * *',
        run: () => {
          order.push('run');
          return Promise.resolve({});
        },
      },
    ],
    retry: { attempts: 0, backoffMs: 1000 },
    clock,
    onEvent: async (e) => {
      order.push(`${e.event} begin`);
      await new Promise((r) => setTimeout(r, 20)); // a slow, durable write
      order.push(`${e.event} end`);
    },
  });
  const result = await scheduler.runNow('j');
  assert.equal(result.status, 'finished');
  assert.deepEqual(order, [
    'job.started begin',
    'job.started end',
    'run',
    'job.finished begin',
    'job.finished end',
  ]);
});

test('an event that cannot be stored is reported, and the schedule goes on', async () => {
  const reported: string[] = [];
  let runs = 0;
  const clock = new FakeClock('2025-01-01T00:00:00.000Z');
  const scheduler = new Scheduler({
    jobs: [
      {
        name: 'j',
        cron: '*/5 * * * * *',
        run: () => {
          runs += 1;
          return Promise.resolve({});
        },
      },
    ],
    retry: { attempts: 0, backoffMs: 1000 },
    clock,
    onEvent: () => Promise.reject(new LogsError('LOGS_CLOSED', 'closed')),
    onError: (err) => reported.push(err.code),
  });
  scheduler.start();
  await clock.advance(10_000);
  assert.equal(runs, 2, 'every 5 s (a six-field expression has seconds)');
  assert.deepEqual(reported, ['LOGS_CLOSED', 'LOGS_CLOSED', 'LOGS_CLOSED', 'LOGS_CLOSED']);
  await scheduler.stop();
});

test('a cron time beyond what one timer can hold is waited for in steps, and kept', async () => {
  const ran: string[] = [];
  const { clock, scheduler } = harness(
    [
      {
        name: 'yearly',
        cron: '0 0 1 1 *',
        run: () => {
          ran.push(clock.iso);
          return Promise.resolve({});
        },
      },
    ],
    undefined,
    '2025-01-02T00:00:00.000Z',
  );
  scheduler.start();
  await clock.advance(364 * 24 * 60 * 60 * 1000 - 1);
  assert.deepEqual(ran, []);
  await clock.advance(1);
  assert.deepEqual(ran, ['2026-01-01T00:00:00.000Z']);
  assert.ok(clock.delays.length > 10, 'the year was waited in several timers');
  await scheduler.stop();
});

test('bad jobs and unknown names are refused with clear codes', async () => {
  const run: JobFn = () => Promise.resolve({});
  const retry = { attempts: 0, backoffMs: 1 };
  const make = (jobs: Array<{ name: string; cron: string; run: JobFn }>, r = retry) =>
    new Scheduler({ jobs, retry: r, onEvent: () => undefined });
  await expectCode('CONFIG_INVALID', () => make([{ name: 'x', cron: 'every day', run }]));
  await expectCode('CONFIG_INVALID', () =>
    make([
      { name: 'x', cron: '* * * * *', run },
      { name: 'x', cron: '0 * * * *', run },
    ]),
  );
  await expectCode('CONFIG_INVALID', () =>
    make([{ name: 'x', cron: '* * * * *', run }], { attempts: -1, backoffMs: 1 }),
  );
  const s = make([{ name: 'x', cron: '* * * * *', run }]);
  const err = await expectCode('USAGE', () => s.runNow('y'));
  assert.match(err.message, /no job named "y" \(jobs: x\)/);
});
