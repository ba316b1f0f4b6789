import type { Config } from '../config/resolve.js';
import { compileClassifier } from '../redact/compile.js';
import type { Classifier } from '../redact/classifier.js';
import { code, link, paragraph, section, t, table, text, type Section } from './doc.js';
import type { PolicyDocument } from './doc.js';
import type { PolicyContext } from './context.js';
import { eventsSection } from './section-events.js';
import { formatSection, storageSection, usageSection } from './section-storage.js';
import { dataSection } from './section-data.js';
import { gdprSection, retentionSection } from './section-retention.js';
import { accessSection, integritySection } from './section-access.js';
import { detectorsSection } from './section-detectors.js';

export interface PolicyOptions {
  /**
   * The logs directory as shown: `./logs` (default: `config.dir`); null for the README.md
   * inside it, which calls it "this directory".
   */
  readonly dir?: string | null;
  /** The configuration file's name, never a path; absent: the default configuration. */
  readonly source?: string | undefined;
  /** Prefix of links to documentation pages (default `docs/`; `` for docs/policy.md). */
  readonly docsBase?: string;
  /** The classifier compiled from the configuration (compiled here when absent). */
  readonly classifier?: Classifier;
}

/** The ASVS 5.0 V16.1.1 items, and the section of this document that answers each. */
export const ASVS_V16_1_1: ReadonlyArray<readonly [item: string, sectionTitle: string]> = [
  ['the logging performed at each layer of the technology stack', 'Layers'],
  ['what events are being logged', 'What is logged'],
  ['log formats', 'Log format'],
  ['where that logging is stored', 'Where logs are stored'],
  ['how it is used', 'How the logs are used'],
  ['how access to it is controlled', 'Who can read what'],
  ['for how long logs are kept', 'Retention and legal holds'],
];

/**
 * The effective log policy of a configuration, as a document: what is logged where, what is
 * never logged or is encrypted, formats and storage, retention and holds, access, integrity,
 * GDPR requests, detectors, and the ASVS V16.1.1 inventory. It depends on the configuration
 * only (no time, no machine): the same configuration gives the same bytes.
 */
export function buildPolicy(config: Config, options: PolicyOptions = {}): PolicyDocument {
  const ctx: PolicyContext = {
    config,
    classifier: options.classifier ?? compileClassifier(config.classification),
    dir: options.dir === undefined ? config.dir : options.dir,
    source: options.source,
    docsBase: options.docsBase ?? 'docs/',
  };
  const sections = [
    eventsSection(ctx),
    formatSection(ctx),
    storageSection(ctx),
    dataSection(ctx),
    retentionSection(ctx),
    accessSection(ctx),
    usageSection(ctx),
    integritySection(ctx),
    gdprSection(ctx),
    detectorsSection(ctx),
  ];
  return {
    title: 'Log policy',
    intro: [
      paragraph(
        t`The effective log policy of this installation of dihya-logs, generated from ${ctx.source === undefined ? 'the default configuration' : code(ctx.source)} (${code('dihya-logs policy')} prints it). Do not edit it: change the configuration, and it is written again (in the logs directory, as ${code('README.md')}, the next time ${code('serve')} or a command opens the logs; any change of it is recorded as an ${code('audit')} event ${code('config.policy.changed')}).`,
      ),
      paragraph(
        t`${ctx.dir === null ? t`This file is in the logs directory it describes.` : t`Logs directory: ${code(ctx.dir)}.`} Links lead to the documentation of dihya-logs (its ${code('docs/')} folder).`,
      ),
    ],
    sections: [...sections, asvs(sections)],
  };
}

function asvs(sections: readonly Section[]): Section {
  const all = flatten(sections);
  return section('OWASP ASVS V16.1.1 inventory', [
    paragraph(
      t`ASVS 5.0 requirement V16.1.1 asks for an inventory documenting the logging performed at each layer of the application's technology stack, what events are being logged, log formats, where that logging is stored, how it is used, how access to it is controlled, and for how long logs are kept. This document is that inventory:`,
    ),
    table(
      ['V16.1.1 item', 'answered in'],
      ASVS_V16_1_1.map(([item, title]) => {
        const s = all.find((x) => x.title === title);
        return [text(item), s === undefined ? text(title) : [link(s.title, `#${s.id}`)]];
      }),
    ),
  ]);
}

function flatten(sections: readonly Section[]): Section[] {
  return sections.flatMap((s) => [s, ...flatten(s.sections ?? [])]);
}
