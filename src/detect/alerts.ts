/**
 * Detections turned into alerts: each draft becomes an `alert.*` record in `security` and, once
 * that is written (or failed to be), a notification and a call to every listener.
 */
import { randomBytes } from 'node:crypto';
import { asLogsError, type LogsError } from '../errors.js';
import { ALERT_EVENT_PREFIX } from '../event/record.js';
import type { LogCore } from '../log/core.js';
import type { AlertPayload, Notifier } from './notify.js';
import type { AlertDraft } from './types.js';
import type { RecordRef } from './window.js';

export class AlertRaiser {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly listeners = new Set<(a: AlertPayload) => void>();

  constructor(
    private readonly logs: LogCore,
    private readonly notifier: Notifier,
    private readonly now: () => number,
    private readonly onError: (err: LogsError) => void,
  ) {}

  /** Called with every alert raised (once its record is written, or failed to be). */
  onAlert(listener: (a: AlertPayload) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  raise(draft: AlertDraft): void {
    const { logs } = this;
    const id = `alr_${randomBytes(12).toString('hex')}`;
    const time = new Date(this.now()).toISOString();
    const base = {
      id,
      type: `${ALERT_EVENT_PREFIX}${draft.type}`,
      detector: draft.detector,
      message: draft.message,
      time,
      log_id: logs.logId,
      ...(draft.group === undefined ? {} : { group: draft.group }),
      ...(draft.count === undefined ? {} : { count: draft.count }),
      ...(draft.windowMs === undefined ? {} : { window_ms: draft.windowMs }),
      evidence: draft.evidence,
      ...(draft.details === undefined ? {} : { details: draft.details }),
    };
    const done = logs.recorders
      .recordAlert({
        event: base.type,
        msg: draft.message,
        data: {
          alert_id: id,
          detector: draft.detector,
          ...(draft.group === undefined
            ? {}
            : { group_by: draft.group.by, group: draft.group.value }),
          ...(draft.count === undefined ? {} : { count: draft.count }),
          ...(draft.windowMs === undefined ? {} : { window_ms: draft.windowMs }),
          evidence: draft.evidence.map(refText),
          ...draft.details,
        },
      })
      .then(
        (ack): RecordRef | null => ({ channel: ack.channel, seq: ack.seq }),
        (err: unknown) => {
          this.onError(asLogsError(err));
          return null;
        },
      )
      .then((record) => {
        const payload: AlertPayload = { ...base, record };
        this.notifier.send(payload);
        for (const l of this.listeners) l(payload);
      });
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Until the alerts raised so far are written (or failed to be). */
  async written(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

function refText(r: RecordRef): string {
  return `${r.channel}#${r.seq}`;
}
