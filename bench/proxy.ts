/**
 * The limit the bench measures the gateway against: a minimal hand-written Node proxy that
 * answers the bench's dashboard query (a channel's first 100 red packs with receives) with the
 * same bytes the gateway sends, doing only what that answer needs: one signed GET to Polyv
 * with keep-alive, JSON.parse, a map to the answer's shape, JSON.stringify. No GraphQL, no
 * framework, no validation, no cache: every POST is answered from a fresh upstream call,
 * whatever its body says. It writes money and instants with the gateway's own functions
 * (domain/convert.ts), so that a faster way to write them speeds both alike.
 *
 *   node dist-bench/bench/proxy.js <Polyv base URL>
 */
import http from 'node:http';
import { DEMO_CREDENTIALS } from '../emulator/index.js';
import {
  fenToDecimal,
  isoInstant,
  redPackStatusFromLabel,
  redPackTypeFromLabel,
  yuanToFen,
} from '../src/domain/convert.js';
import { signedParams } from '../src/polyv/sign.js';

/** The dashboard's channel (bench/run.ts). */
const PROXY_CHANNEL_ID = '2812610';

/** Polyv's red-pack record, as far as the answer reads it. */
interface PolyvRedPack {
  redPackId: string | number;
  nickName?: string | null;
  amount: number;
  balance: number;
  createdTime: number;
  status: string;
  redPackType: string;
  redPackReceiveList?: PolyvReceive[] | null;
}
interface PolyvReceive {
  userId: string;
  nickName?: string | null;
  amount: number;
  createdTime: number;
}
interface PolyvPage {
  code: number;
  data: { totalItems: number; contents: PolyvRedPack[] };
}

const upstream = process.argv[2];
if (!upstream) throw new Error('usage: proxy.js <Polyv base URL>');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function fetchPage(): Promise<PolyvPage> {
  const params = new URLSearchParams(
    signedParams({ channelId: PROXY_CHANNEL_ID, pageNumber: 1, pageSize: 100 }, DEMO_CREDENTIALS),
  );
  const url = `${upstream}/live/v4/channel/red-pack/statistics/list?${params}`;
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as PolyvPage);
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
        response.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Money as the gateway writes it: exact fen, and the same fen as a decimal string of yuan. */
const moneyOf = (yuan: number) => {
  const fen = yuanToFen(yuan);
  return { amount: fenToDecimal(fen), fen };
};

/** The dashboard's selection, keys in the order the query selects them (GraphQL's order). */
const answerOf = (page: PolyvPage) => ({
  data: {
    channel: {
      redPacks: {
        totalCount: page.data.totalItems,
        nodes: page.data.contents.map((redPack) => {
          const amount = moneyOf(redPack.amount);
          return {
            id: String(redPack.redPackId),
            type: redPackTypeFromLabel(redPack.redPackType),
            typeLabel: redPack.redPackType,
            status: redPackStatusFromLabel(redPack.status),
            createdAt: isoInstant(redPack.createdTime),
            sender: { nickname: redPack.nickName ?? null },
            amount: { amount: amount.amount, fen: amount.fen, currency: 'CNY' },
            balance: moneyOf(redPack.balance),
            receives: (redPack.redPackReceiveList ?? []).map((receive) => ({
              user: { openId: receive.userId, nickname: receive.nickName ?? null },
              amount: moneyOf(receive.amount),
              receivedAt: isoInstant(receive.createdTime),
            })),
          };
        }),
      },
    },
  },
});

const server = http.createServer((request, response) => {
  if (request.method !== 'POST') {
    response.writeHead(405).end();
    return;
  }
  request.resume(); // the body is not read: the proxy knows one question
  request.on('end', () => {
    fetchPage()
      .then((page) => {
        if (page.code !== 200) throw new Error(`Polyv answered code ${page.code}`);
        // The newline: the gateway ends its answers with one (Apollo Server's serialiser).
        const body = `${JSON.stringify(answerOf(page))}\n`;
        response.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
      })
      .catch((error: unknown) => {
        response.writeHead(502, { 'content-type': 'text/plain' }).end(String(error));
      });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object')
    console.log(`proxy listening on http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => process.exit(0));
