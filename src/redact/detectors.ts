import { PERSONAL_DETECTORS } from './personal.js';
import type { Detector } from './scan.js';
import { SECRET_DETECTORS } from './secrets.js';

/**
 * Value detectors: secrets and personal data found by their shape, wherever they sit in a
 * string. Every pattern runs in linear time on hostile input: matches can only start at a
 * token boundary (a lookbehind), and every quantifier is bounded, so no position is scanned
 * more than a constant number of times (test/redact/redos.test.ts feeds each 1 MiB of
 * adversarial text; the regexp lint rules check for super-linear backtracking).
 */

/** Every built-in detector, secrets first: for `dihya-logs policy` and the ReDoS test. */
export const DETECTORS: readonly Detector[] = [...SECRET_DETECTORS, ...PERSONAL_DETECTORS];
