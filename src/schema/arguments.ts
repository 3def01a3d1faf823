/** Validation of arguments that scalars alone cannot check. */
import { badUserInput } from './clientErrors.js';

/** Polyv channel numbers are digits; anything else can never be a channel. */
const isChannelNumber = (id: string): boolean => /^\d{1,20}$/.test(id);

/**
 * A channel number as asked for (`channel(id:)`, `channels(ids:)`, `channelId`, a Channel
 * representation's `id`); anything else is refused, naming the argument, before any upstream call.
 */
export function channelArgument(id: string, argument: string): string {
  if (!isChannelNumber(id))
    throw badUserInput(
      `\`${argument}\`: ${JSON.stringify(id)} is not a Polyv channel number (digits only).`,
      argument,
    );
  return id;
}

/** An optional channel filter (`channelId`). */
export function channelIdArgument(
  id: string | null | undefined,
  argument: string,
): string | undefined {
  if (id === null || id === undefined) return undefined;
  channelArgument(id, argument);
  // Polyv reads channelId 0 as "every channel": the same as leaving it out.
  return /^0+$/.test(id) ? undefined : id;
}

/** A CST day range, both ends included. The Date scalar has already checked each day. */
export function dayRange(
  startDate: string,
  endDate: string,
): { startDate: string; endDate: string } {
  if (startDate > endDate) {
    throw badUserInput(
      `\`startDate\` (${startDate}) must not be after \`endDate\` (${endDate}).`,
      'startDate',
    );
  }
  return { startDate, endDate };
}

/** The longest range an income summary covers: its per-day series has one row per day. */
export const MAX_SUMMARY_DAYS = 366;

/**
 * A summary's day range: as dayRange, and at most MAX_SUMMARY_DAYS days, so the per-day series
 * (built whether or not it is selected) stays small whatever the dates.
 */
export function summaryDayRange(startDate: string, endDate: string) {
  const range = dayRange(startDate, endDate);
  const days = (Date.parse(range.endDate) - Date.parse(range.startDate)) / 86_400_000 + 1;
  if (days > MAX_SUMMARY_DAYS) {
    throw badUserInput(
      `An income summary covers at most ${MAX_SUMMARY_DAYS} days; ${startDate} to ${endDate} is ${days}. Ask for a longer period year by year.`,
      'endDate',
    );
  }
  return range;
}

/** An optional instant range, both ends included, as Polyv's millisecond timestamps. */
export function timeRange(startTime: Date | null | undefined, endTime: Date | null | undefined) {
  const start = startTime?.getTime();
  const end = endTime?.getTime();
  if (start !== undefined && start < 0)
    throw badUserInput('`startTime` must not be before 1970.', 'startTime');
  if (end !== undefined && end < 0)
    throw badUserInput('`endTime` must not be before 1970.', 'endTime');
  if (start !== undefined && end !== undefined && start > end) {
    throw badUserInput('`startTime` must not be after `endTime`.', 'startTime');
  }
  return { startTime: start, endTime: end };
}

export function sessionIdArgument(sessionId: string | null | undefined): string | undefined {
  if (sessionId === null || sessionId === undefined) return undefined;
  const trimmed = sessionId.trim();
  if (trimmed === '' || trimmed.length > 64 || !/^[\w-]+$/.test(trimmed)) {
    throw badUserInput(
      `\`sessionId\` must be a Polyv session id (letters, digits, - and _); got ${JSON.stringify(sessionId)}.`,
      'sessionId',
    );
  }
  return trimmed;
}
