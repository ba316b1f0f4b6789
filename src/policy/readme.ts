import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/resolve.js';
import type { Classifier } from '../redact/classifier.js';
import { LogLayout } from '../store/file/index.js';
import { writeFileDurable } from '../util/fs.js';
import { renderMarkdown } from './markdown.js';
import { buildPolicy } from './model.js';
import { sourceLabel } from './state.js';

/** The policy, for people, at the top of the logs directory. */
export const POLICY_README = 'README.md';

export function readmeFile(layout: LogLayout): string {
  return path.join(layout.dir, POLICY_README);
}

/** The policy as the logs directory's README.md: the directory is "this directory". */
export function readmeText(config: Config, classifier?: Classifier): string {
  return renderMarkdown(
    buildPolicy(config, {
      dir: null,
      source: sourceLabel(config),
      ...(classifier === undefined ? {} : { classifier }),
    }),
  );
}

/**
 * Write README.md (0600, atomically) when it is missing or says something else. Returns
 * whether it was written.
 */
export function refreshReadme(layout: LogLayout, config: Config, classifier?: Classifier): boolean {
  const file = readmeFile(layout);
  const text = readmeText(config, classifier);
  if (existsSync(file)) {
    try {
      if (readFileSync(file, 'utf8') === text) return false;
    } catch {
      // Unreadable (a directory, no permission): replacing it says why if it cannot be done.
    }
  }
  writeFileDurable(file, text);
  return true;
}

/**
 * README.md of the configured logs directory, rewritten when it no longer says what the
 * configuration says. Run by the CLI and the service when they open the logs (never by the
 * library's open, which records policy changes only); a failure is reported, not thrown: the
 * next open writes it again.
 */
export function refreshPolicyReadme(config: Config, onError: (err: unknown) => void): void {
  try {
    refreshReadme(new LogLayout(config.dir), config);
  } catch (err) {
    onError(err);
  }
}
