/** The issue-10 attack documents, shared by the limits tests and the real-process survival test. */

/** `fragment F0 on Query { __typename }`, each F(i) spreading F(i-1) twice, and `{ ...F(n) }`. */
export function fragmentBomb(levels: number): string {
  const fragments = ['fragment F0 on Query { __typename }'];
  for (let level = 1; level <= levels; level++)
    fragments.push(`fragment F${level} on Query { ...F${level - 1} ...F${level - 1} }`);
  return `{ ...F${levels} } ${fragments.join(' ')}`;
}

export const channelIds = (count: number) =>
  Array.from({ length: count }, (_, index) => String(2812610 + index));

/** The issue's 4 kB query: 200 default ids, a default page of 1000, receives below. */
export const defaultsBomb = `query($ids: [ID!]! = [${channelIds(200)
  .map((id) => `"${id}"`)
  .join(',')}], $n: Int = 1000) {
  channels(ids: $ids) { redPacks(first: $n) { nodes { id amount { amount } receives { user { nickname } amount { amount } } } } }
}`;
