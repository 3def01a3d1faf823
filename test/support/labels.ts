/**
 * The dashboard's names of the API's enum values, written out: the tests' oracle for what a
 * page in English shows, with Polyv's Chinese label beside each.
 */
export const ENGLISH_NAMES: Readonly<Record<string, string>> = {
  RAIN: 'Rain',
  PASSWORD: 'Password',
  NORMAL: 'Normal',
  IN_PROGRESS: 'In progress',
  ENDED: 'Ended',
  REFUNDING: 'Refunding',
  REFUNDED: 'Refunded',
  CASH: 'Cash',
  PAY_PER_VIEW: 'Pay per view',
  GIFT: 'Gift',
  POINT_GIFT: 'Point gift',
  UNKNOWN: 'Other',
};

/** A name as a table cell shows it: ours, then Polyv's label. */
export function shownName(value: string, label: string): string {
  const name = ENGLISH_NAMES[value];
  if (name === undefined) throw new Error(`no English name for ${value}`);
  return `${name} ${label}`;
}

/** Chinese characters (CJK ideographs and punctuation). */
export const CHINESE = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;
