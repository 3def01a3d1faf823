/**
 * Live messages and topic states as JSON, for Redis (pub/sub and the saved state). Our models
 * hold Dates; JSON turns them into ISO strings, and these fields are turned back.
 */
import type { LiveMessage, TopicState } from './poller.js';

/** Every field of our models (and of events and totals) that holds a Date. */
const DATE_FIELDS = new Set(['createdAt', 'receivedAt', 'observedAt', 'asOf', 'paidAt']);

const revive = (key: string, value: unknown) =>
  DATE_FIELDS.has(key) && typeof value === 'string' ? new Date(value) : value;

export const encodeMessage = (message: LiveMessage): string => JSON.stringify(message);
export const decodeMessage = (text: string): LiveMessage => JSON.parse(text, revive) as LiveMessage;
export const encodeState = (state: TopicState): string => JSON.stringify(state);
export const decodeState = (text: string): TopicState => JSON.parse(text, revive) as TopicState;
