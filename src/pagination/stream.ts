/**
 * Reading a whole paged list in order, for exports: Polyv's largest pages, a few in flight at a
 * time (WALK_PAGES_IN_FLIGHT, as summaries walk), handed on one by one in list order and then
 * let go. What it holds is the pages in flight and the ids of the page before, never the rows
 * already handed on, so its memory does not grow with the list.
 *
 * Consistency follows the connection's rules (connection.ts): the pages must agree. Every page
 * must report the total the first one did, hold exactly the records that total puts on it, and
 * repeat no record of its own or of the page before it (new records push old ones down a page,
 * so a list that moved between two reads repeats records across their boundary). A page that
 * disagrees is read once more past every cache, and from then on every page is (the usual cause
 * is a cached page from another moment); only a list that still disagrees fails, with
 * `listChanging`. Nothing is handed on before the first two pages agree, so a first page that
 * came stale from the cache is read again before any row leaves: the list can then start over.
 * After that, rows already handed on cannot be taken back, and the consumer must make the
 * failure visible (an export aborts its transfer).
 *
 * `fetchWholePage` of the list goes through the page cache and its single flight, the
 * upstream's fair queue and the caller's call budget, like a summary's walk.
 */
import { PaginationFailure } from './failures.js';
import type { PagedList } from './connection.js';
import { MAX_PAGE_SIZE, type Page } from './page.js';
import { WALK_PAGES_IN_FLIGHT } from './walk.js';

export interface WholeListOptions {
  /** The most records the list may have; more: `tooLarge` before anything is handed on. */
  maxRecords: number;
  /** Names the limit in the `tooLarge` failure (`extensions.limit`). */
  limitName: string;
  /** Past every cache from the first page on (the client asked for fresh data). */
  fresh?: boolean;
  /** Pages asked for at once; default WALK_PAGES_IN_FLIGHT. */
  pagesInFlight?: number;
}

/** A list being read in order: its total, then its records a page at a time. */
export interface WholeListReading<T> {
  /** The list's length, as its first page (after any re-read) reported it. */
  readonly total: number;
  /** When the first page handed on was produced (epoch ms): older when it came from a cache. */
  readonly asOf: number;
  /**
   * Each page's records, in list order. Throws a PaginationFailure (`listChanging`) or the
   * list's own failure (Polyv's) part way; stopping early stops asking for pages.
   */
  pages(): AsyncGenerator<readonly T[], void, undefined>;
}

/**
 * Reads the first page (and the second, when there is one) and checks the list fits: resolves
 * once nothing more can be refused up front, with a reading to take the pages from.
 */
export async function readWholeList<T>(
  list: PagedList<T>,
  options: WholeListOptions,
): Promise<WholeListReading<T>> {
  const reader = new InOrderReader(list, options);
  await reader.open();
  return reader;
}

/** Records each page of a list of `total` holds: full pages, then what is left. */
export const recordsOnPage = (total: number, pageNumber: number, pageSize = MAX_PAGE_SIZE) =>
  Math.max(0, Math.min(pageSize, total - (pageNumber - 1) * pageSize));

class InOrderReader<T> implements WholeListReading<T> {
  total = 0;
  asOf = 0;
  private pageCount = 0;
  /** Past every cache: asked for, or since a page disagreed. */
  private fresh: boolean;
  /** The one re-read is spent: the next disagreement fails. */
  private reread = false;
  private readonly inFlight: number;
  /** Pages asked for and not yet taken, by number. */
  private readonly requested = new Map<number, Promise<Page<T>>>();
  /** Pages asked for whose answer has not arrived (taken or not, used or not). */
  private pending = 0;
  /** The reader stopped (done, failed or given up): nothing more is asked for. */
  private stopped = false;
  /** The next page number to ask for. */
  private nextToAsk = 2;
  /** The first pages, checked and held until `pages()` hands them on. */
  private head: Page<T>[] = [];

  constructor(
    private readonly list: PagedList<T>,
    private readonly options: WholeListOptions,
  ) {
    this.fresh = options.fresh ?? false;
    this.inFlight = Math.max(1, options.pagesInFlight ?? WALK_PAGES_IN_FLIGHT);
  }

  async open(): Promise<void> {
    let first = await this.fetch(1);
    this.start(first);
    if (this.disagrees(first, 1, undefined)) {
      this.spendReread();
      first = await this.fetch(1);
      this.start(first);
      if (this.disagrees(first, 1, undefined)) throw listChanging();
    }
    if (this.pageCount < 2) {
      this.head = [first];
      return;
    }
    this.askAhead();
    let second = await this.take(2);
    if (this.disagrees(second, 2, first)) {
      // Nothing has been handed on: read the list's head again, past every cache, and start
      // over from what it says now.
      this.spendReread();
      this.forgetRequested();
      first = await this.fetch(1);
      this.start(first);
      if (this.disagrees(first, 1, undefined)) throw listChanging();
      if (this.pageCount >= 2) {
        this.askAhead();
        second = await this.take(2);
        if (this.disagrees(second, 2, first)) throw listChanging();
      }
    }
    this.head = this.pageCount >= 2 ? [first, second] : [first];
  }

  async *pages(): AsyncGenerator<readonly T[], void, undefined> {
    try {
      yield* this.inOrder();
    } finally {
      this.stopped = true;
      this.requested.clear();
    }
  }

  private async *inOrder(): AsyncGenerator<readonly T[], void, undefined> {
    const head = this.head;
    this.head = [];
    let previous: Page<T> | undefined;
    for (const page of head) {
      previous = page;
      yield page.items;
    }
    for (let pageNumber = head.length + 1; pageNumber <= this.pageCount; pageNumber++) {
      let page = await this.take(pageNumber);
      if (this.disagrees(page, pageNumber, previous)) {
        // Most likely a page cached at another moment: read it, and every page after it, past
        // the cache. A list that disagrees even then has changed under rows already handed on.
        this.spendReread();
        this.forgetRequested();
        this.nextToAsk = pageNumber + 1;
        const again = this.fetch(pageNumber);
        this.askAhead();
        page = await again;
        if (this.disagrees(page, pageNumber, previous)) throw listChanging();
      }
      previous = page;
      yield page.items;
    }
  }

  /** Takes the first page's word for the list's length, and refuses a list that cannot fit. */
  private start(first: Page<T>): void {
    this.total = first.totalItems;
    this.asOf = first.fetchedAt;
    this.pageCount = Math.ceil(this.total / MAX_PAGE_SIZE);
    this.nextToAsk = 2;
    const { maxRecords, limitName } = this.options;
    if (this.total > maxRecords)
      throw new PaginationFailure(
        'tooLarge',
        `This list has ${this.total} records; one reading may take at most ${maxRecords}. Narrow it (a shorter range, one session, one channel).`,
        { limit: limitName, max: maxRecords, actual: this.total },
      );
  }

  /** Why a page cannot follow the one before it in a list of `total`, if it cannot. */
  private disagrees(page: Page<T>, pageNumber: number, before: Page<T> | undefined): boolean {
    if (page.totalItems !== this.total) return true;
    if (page.items.length !== recordsOnPage(this.total, pageNumber)) return true;
    const ids = new Set<string>();
    for (const item of page.items) ids.add(this.list.keyOf(item).id);
    if (ids.size !== page.items.length) return true;
    return before?.items.some((item) => ids.has(this.list.keyOf(item).id)) ?? false;
  }

  private spendReread(): void {
    if (this.reread) throw listChanging();
    this.reread = true;
    this.fresh = true;
  }

  private fetch(pageNumber: number): Promise<Page<T>> {
    this.pending++;
    const page = this.list.fetchWholePage(pageNumber, MAX_PAGE_SIZE, this.fresh);
    // Pages asked for ahead may fail before they are taken (or never be taken): the failure
    // is reported by `take`, never as an unhandled rejection. An answer frees its place.
    page.then(
      () => {
        this.pending--;
        this.askAhead();
      },
      () => {
        this.pending--;
      },
    );
    return page;
  }

  /**
   * Keeps the walk busy within bounds: at most `inFlight` pages whose answers are awaited, and
   * at most `inFlight` answers waiting to be taken (a reader slower than Polyv holds no more).
   */
  private askAhead(): void {
    while (
      !this.stopped &&
      this.nextToAsk <= this.pageCount &&
      this.requested.size < this.inFlight &&
      this.pending < this.inFlight
    ) {
      this.requested.set(this.nextToAsk, this.fetch(this.nextToAsk));
      this.nextToAsk++;
    }
  }

  private take(pageNumber: number): Promise<Page<T>> {
    const page = this.requested.get(pageNumber) ?? this.fetch(pageNumber);
    this.requested.delete(pageNumber);
    if (this.nextToAsk <= pageNumber) this.nextToAsk = pageNumber + 1;
    this.askAhead();
    return page;
  }

  /** Pages asked for through the cache are not used: they are asked for again, fresh. */
  private forgetRequested(): void {
    this.requested.clear();
  }
}

const listChanging = () =>
  new PaginationFailure(
    'listChanging',
    'The list kept changing while it was being read; please retry.',
  );
