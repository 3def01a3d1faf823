/**
 * The warm path's limit: a bare Node `http` server that answers every request with the same
 * bytes, read once from its standard input (the gateway's answer to the bench's query). No
 * routing, no cache lookup, no checks: what serving a stored answer costs on this machine.
 *
 *   node dist-bench/bench/replay.js < answer.json
 */
import http from 'node:http';

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const answer = Buffer.concat(chunks);

const server = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': answer.length,
    });
    response.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object')
    console.log(`replay listening on http://127.0.0.1:${address.port}`);
});
process.on('SIGTERM', () => process.exit(0));
