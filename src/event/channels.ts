import { LogsError } from '../errors.js';
import type { Level } from './levels.js';

/** The five channels every logs directory has. Configuration may add more. */
export const DEFAULT_CHANNELS = ['app', 'audit', 'security', 'scheduler', 'api'] as const;
export type DefaultChannel = (typeof DEFAULT_CHANNELS)[number];

// A channel name becomes a file name: keep it to a short, boring alphabet.
const CHANNEL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function isChannelName(value: unknown): value is string {
  return typeof value === 'string' && CHANNEL_NAME.test(value);
}

export function assertChannelName(value: unknown): string {
  if (isChannelName(value)) return value;
  // The bad name is not repeated: it may be anything, a secret included.
  const shown = typeof value === 'string' ? `of ${value.length} characters` : `(a ${typeof value})`;
  throw new LogsError(
    'EVENT_CHANNEL_UNKNOWN',
    `bad channel name ${shown}: use 1-32 characters of a-z, 0-9, _ and -, starting with a letter`,
  );
}

/** AUDIT and SECURITY route to their channels unless the producer names a channel. */
export function defaultChannelForLevel(level: Level): DefaultChannel {
  if (level === 'AUDIT') return 'audit';
  if (level === 'SECURITY') return 'security';
  return 'app';
}
