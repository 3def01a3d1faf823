/**
 * What one fetched red pack costs the heap while a request holds it: the figure behind the heap
 * bound in docs/security.md (Limits) and GATEWAY_MAX_UPSTREAM_RECORDS.
 *
 * A real emulator page of 1,000 red packs is rewritten so that every red pack has exactly R
 * receives (taken from the page's own receives, so the strings look like real ones), then
 * parsed, validated and converted the way every page is (`redPacks.fetchPage`), and P such pages
 * are kept, as a request's DataLoader keeps them. Bytes per record = heap growth ÷ records.
 *
 *   npx tsc -p tsconfig.bench.json && node --expose-gc dist-bench/bench/recordHeap.js
 */
import { startEmulator } from '../emulator/index.js';
import { DEMO_CREDENTIALS } from '../emulator/index.js';
import type { PolyvRequest } from '../src/polyv/http.js';
import { listOf } from '../src/lists/list.js';

const redPacks = listOf('redPackStatistics');
import { signedParams } from '../src/polyv/sign.js';
import type { PolyvPages } from '../src/polyv/pages.js';

const PAGE = 1_000;
const PAGES = 20;
/** The emulator's largest red packs (红包雨) have 40 receives; its demo data averages fewer. */
const RECEIVES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [0, 3, 20, 40];

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const emulator = await startEmulator({ port: 0 });
interface RawPage {
  data: { contents: { redPackId: string; redPackReceiveList: Record<string, unknown>[] }[] };
}
let raw: RawPage;
try {
  const params = signedParams(
    { channelId: '2812610', pageNumber: 1, pageSize: PAGE },
    DEMO_CREDENTIALS,
  );
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) query.set(key, String(value));
  const url = `${emulator.url}/live/v4/channel/red-pack/statistics/list?${query.toString()}`;
  raw = (await (await fetch(url)).json()) as RawPage;
} finally {
  await emulator.close();
}
const pool = raw.data.contents.flatMap((pack) => pack.redPackReceiveList);

/** The page's text with every red pack given `receives` receives. */
function pageText(receives: number, salt: number): string {
  const contents = raw.data.contents.map((pack, index) => ({
    ...pack,
    // Distinct ids per page, as distinct pages have.
    redPackId: `${salt}-${pack.redPackId}`,
    redPackReceiveList: Array.from({ length: receives }, (_, at) => {
      const receive = pool[(index * receives + at) % pool.length]!;
      // Every receiver distinct (the worst case: no string shared with another receive).
      const unique = `${salt}-${index}-${at}`;
      return {
        ...receive,
        redPackId: `${salt}-${pack.redPackId}`,
        userId: `${String(receive.userId)}${unique}`,
        nickName: `${String(receive.nickName)}${unique}`,
        avatar: `${String(receive.avatar)}?${unique}`,
      };
    }),
  }));
  return JSON.stringify({ ...raw, data: { ...raw.data, contents } });
}

/** An upstream that answers with `text`, parsed and validated as the signed client does. */
const answering = (text: string) =>
  ({
    call: <T>(request: PolyvRequest<T>) => {
      const body = JSON.parse(text) as { data: unknown };
      return Promise.resolve({ data: request.data.parse(body.data), fetchedAt: Date.now() });
    },
  }) as unknown as PolyvPages;

const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

for (const receives of RECEIVES) {
  const texts = Array.from({ length: PAGES }, (_, page) => pageText(receives, page));
  const before = heap();
  const held = [];
  for (const [page, text] of texts.entries()) {
    held.push(
      await redPacks.fetchPage(answering(text), {
        channelId: '2812610',
        pageNumber: page + 1,
        pageSize: PAGE,
      }),
    );
  }
  const after = heap();
  const records = held.reduce((sum, page) => sum + page.items.length, 0);
  const jsonBytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0) / records;
  console.log(
    `${receives} receives: ${((after - before) / records).toFixed(0)} heap bytes a red pack held ` +
      `(${jsonBytes.toFixed(0)} bytes of Polyv JSON), over ${records} records`,
  );
}
