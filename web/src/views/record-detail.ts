import { api, queryString } from '../api.js';
import { actorText, content, display, h, replace } from '../dom.js';
import { errorText, num, t } from '../i18n.js';
import { verifyInclusion, type Checkpoint, type InclusionProof } from '../proof.js';
import type { Rec } from './records.js';

export interface DetailActions {
  /** Show all events of an actor (`actor`) or of a request (`request_id`). */
  readonly filter: (f: { actor?: string; request_id?: string }) => void;
  readonly close: () => void;
}

/** Fill the record's panel: its chain position, the proof check, links, every field. */
export function showRecord(panel: HTMLElement, r: Rec, actions: DetailActions): void {
  const proofOut = h('p', { role: 'status', class: 'proof' });
  const actor = display(r.actor);
  const requestId = display(r.request_id);
  const closeBtn = h(
    'button',
    { type: 'button', class: 'secondary', onclick: actions.close },
    t('close'),
  );
  replace(
    panel,
    h(
      'div',
      { class: 'detail-head' },
      h('h2', {}, `${t('detail')} `, content('span', `${r.channel} #${r.seq}`)),
      closeBtn,
    ),
    h('h3', {}, t('chainPosition')),
    h(
      'dl',
      {},
      h('dt', {}, t('channel')),
      h('dd', { translate: 'no' }, r.channel),
      h('dt', {}, t('seq')),
      h('dd', {}, r.seq),
      h('dt', {}, t('hash')),
      h('dd', { class: 'mono', translate: 'no' }, display(r.hash)),
      actor === '' ? null : h('dt', {}, t('actor')),
      actor === '' ? null : h('dd', { class: 'actor', translate: 'no' }, actorText(r.actor)),
    ),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', onclick: () => void checkProof(r, proofOut) }, t('checkProof')),
      actor === ''
        ? null
        : h(
            'button',
            {
              type: 'button',
              class: 'secondary link-actor',
              onclick: () => actions.filter({ actor }),
            },
            t('eventsOfActor'),
          ),
      requestId === ''
        ? null
        : h(
            'button',
            {
              type: 'button',
              class: 'secondary link-request',
              onclick: () => actions.filter({ request_id: requestId }),
            },
            t('eventsOfRequest'),
          ),
    ),
    proofOut,
    h('h3', {}, t('allFields')),
    h('pre', { class: 'json', tabindex: 0, translate: 'no' }, JSON.stringify(r, null, 2)),
  );
  panel.hidden = false;
  closeBtn.focus();
}

/** Fetch the record's inclusion proof and check it here, in the browser. */
async function checkProof(r: Rec, out: HTMLElement): Promise<void> {
  out.className = 'proof';
  out.textContent = t('proofChecking');
  try {
    const res = await api<{
      proof: InclusionProof;
      checkpoint: Checkpoint | null;
      public_key: string;
    }>('GET', `/v1/proofs/inclusion?${queryString({ channel: r.channel, seq: String(r.seq) })}`);
    const v = await verifyInclusion(res.proof, res.checkpoint, r.hash, res.public_key);
    out.className = v.ok ? 'proof ok' : 'proof bad';
    out.textContent = v.ok
      ? t('proofOk', { size: num(res.proof.tree_size), root: res.proof.root.slice(0, 16) })
      : t('proofFailed', { reason: v.reason === undefined ? '' : t(v.reason) });
  } catch (err) {
    out.className = 'proof bad';
    out.textContent = t('proofFailed', { reason: errorText(err) });
  }
}
