/** A cache key for a set of parameters that does not depend on the order they were written in. */
export function stableKey(params: object): string {
  return JSON.stringify(
    Object.entries(params)
      .filter(([, value]) => value !== undefined && value !== null && value !== '')
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}
