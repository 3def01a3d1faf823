/**
 * How many exports stream at once in this replica, in all and per client (API key, or address
 * with keys off). An export holds a slot from before its first Polyv call to its last byte (or
 * its abort); a refused one makes no call at all.
 */
export type ExportRefusal = 'client' | 'replica';

export class ExportAdmission {
  private running = 0;
  private readonly perClient = new Map<string, number>();

  constructor(private readonly limits: { maxInFlight: number; maxPerClient: number }) {}

  /** Exports streaming now. */
  get inFlight(): number {
    return this.running;
  }

  /** A slot for `client` (its release, to call exactly once), or why there is none. */
  admit(client: string): { release: () => void } | { refused: ExportRefusal; max: number } {
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.limits.maxPerClient)
      return { refused: 'client', max: this.limits.maxPerClient };
    if (this.running >= this.limits.maxInFlight)
      return { refused: 'replica', max: this.limits.maxInFlight };
    this.running++;
    this.perClient.set(client, mine + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        const left = (this.perClient.get(client) ?? 1) - 1;
        if (left > 0) this.perClient.set(client, left);
        else this.perClient.delete(client);
      },
    };
  }
}
