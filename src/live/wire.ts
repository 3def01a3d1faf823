/**
 * Live messages and topic states as JSON, for Redis (pub/sub and the saved state). Our models
 * hold Dates and money; JSON turns a Date into an ISO string and money into its fen and currency
 * (its decimal `amount` is a getter, written on demand), and both are turned back here.
 */
import { money } from '../domain/convert.js';
import type { LiveMessage, TopicState } from './poller.js';

/** Every field of our models (and of events and totals) that holds a Date. */
const DATE_FIELDS = new Set(['createdAt', 'receivedAt', 'observedAt', 'asOf', 'paidAt']);

/** Money as JSON writes it: exactly its fen and its currency. */
const isMoneyJson = (value: unknown): value is { fen: number; currency: 'CNY' } =>
  typeof value === 'object' &&
  value !== null &&
  (value as { currency?: unknown }).currency === 'CNY' &&
  typeof (value as { fen?: unknown }).fen === 'number' &&
  Object.keys(value).length === 2;

const revive = (key: string, value: unknown) => {
  if (DATE_FIELDS.has(key) && typeof value === 'string') return new Date(value);
  return isMoneyJson(value) ? money(value.fen) : value;
};

export const encodeMessage = (message: LiveMessage): string => JSON.stringify(message);
export const decodeMessage = (text: string): LiveMessage => JSON.parse(text, revive) as LiveMessage;
export const encodeState = (state: TopicState): string => JSON.stringify(state);
export const decodeState = (text: string): TopicState => JSON.parse(text, revive) as TopicState;
