/**
 * Waiters, one FIFO queue per client, served in round-robin order (for a turn at the upstream,
 * and for an execution slot): while
 * several clients wait, each gets one turn before any gets a second. So however many calls one
 * client queues, another client's call waits for at most one call of each other waiting client.
 *
 * Every upstream call costs the same (one token), so plain round robin is already fair in what
 * matters (deficit round robin would only weigh unequal costs). When the queue is full, the
 * longest queue gives up its newest waiter to make room for a shorter one: a flood fills its own
 * queue, not everybody's.
 */
export class FairQueue<T> {
  /** Clients with waiters, in the order of their next turn (a Map keeps insertion order). */
  private readonly queues = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Waiters of one client. */
  sizeOf(client: string): number {
    return this.queues.get(client)?.length ?? 0;
  }

  /** Queues `item` behind `client`'s others; a client that was not waiting joins the end of the round. */
  push(client: string, item: T): void {
    const queue = this.queues.get(client);
    if (queue) queue.push(item);
    else this.queues.set(client, [item]);
    this.count++;
  }

  /** The waiter whose turn is next, left in place. */
  peek(): T | undefined {
    const next = this.queues.values().next();
    return next.done ? undefined : next.value[0];
  }

  /** The next waiter in turn: the oldest of the client whose turn it is; that client goes to the end of the round. */
  shift(): T | undefined {
    const next = this.queues.entries().next();
    if (next.done) return undefined;
    const [client, queue] = next.value;
    const item = queue.shift() as T;
    this.queues.delete(client);
    if (queue.length > 0) this.queues.set(client, queue);
    this.count--;
    return item;
  }

  /** Takes a waiter out (it gave up); false if it was not queued. */
  remove(client: string, item: T): boolean {
    const queue = this.queues.get(client);
    const index = queue?.indexOf(item) ?? -1;
    if (!queue || index < 0) return false;
    queue.splice(index, 1);
    // An emptied client keeps no place in the round: it rejoins at the end when it next waits.
    if (queue.length === 0) this.queues.delete(client);
    this.count--;
    return true;
  }

  /**
   * Makes room for one more waiter of `client`: takes the newest waiter of the longest queue,
   * if that queue is longer than `client`'s would be with the newcomer; else nothing (the
   * newcomer is the one to refuse).
   */
  shedFor(client: string): T | undefined {
    let longest: [string, T[]] | undefined;
    for (const entry of this.queues)
      if (!longest || entry[1].length > longest[1].length) longest = entry;
    if (!longest || longest[1].length <= this.sizeOf(client) + 1) return undefined;
    const [victimClient, queue] = longest;
    const item = queue.at(-1) as T;
    this.remove(victimClient, item);
    return item;
  }
}
