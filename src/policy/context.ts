import type { Config } from '../config/resolve.js';
import type { Classifier } from '../redact/classifier.js';
import { link, type Span } from './doc.js';

/** What the sections of the policy are built from. */
export interface PolicyContext {
  readonly config: Config;
  /** The classifier compiled from `config.classification`. */
  readonly classifier: Classifier;
  /** The logs directory as shown (`./logs`); null in its own README.md: "this directory". */
  readonly dir: string | null;
  /** The configuration file's name (`dihya-logs.yaml`); undefined for the defaults. */
  readonly source: string | undefined;
  /** Prefix of links to documentation pages: `` beside docs/, `docs/` elsewhere. */
  readonly docsBase: string;
}

/** A link to a page of the documentation, `page` like `integrity.md#checking-a-proof`. */
export function docLink(ctx: PolicyContext, label: string, page: string): Span {
  return link(label, `${ctx.docsBase}${page}`);
}
