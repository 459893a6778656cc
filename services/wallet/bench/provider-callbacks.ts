/**
 * Measures provider bet callbacks per second and their latency against a
 * wallet process started here, with its own database and vhost on the
 * servers of scripts/infra.sh. Load generator, wallet, PostgreSQL and
 * RabbitMQ share the machine, so the numbers are for this whole setup.
 *
 * Usage: node --conditions=source --import tsx services/wallet/bench/provider-callbacks.ts
 * Settings: BENCH_DURATION_SECONDS (default 15), BENCH_CONCURRENCY (default 32), BENCH_PLAYERS (default 200).
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import hdr from 'hdr-histogram-js';
import { createTestVhost, infraSettings, uniqueBrand } from '@croupier/shared/testing';
import { signBody } from '../src/auth/hmac.js';
import { createTestDatabase } from '../test/support/database.js';
import { startWalletProcess, stopWalletProcess } from '../test/support/wallet-process.js';
import { API_KEY, PAYMENT_SECRET, PROVIDER, PROVIDER_SECRET } from '../test/support/wallet.js';

const durationSeconds = Number(process.env.BENCH_DURATION_SECONDS ?? 15);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 32);
const playerCount = Number(process.env.BENCH_PLAYERS ?? 200);

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function post(baseUrl: string, path: string, body: object, headers: Record<string, string>): Promise<number> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}${path}`, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers },
    });
    request.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(payload);
  });
}

function signed(secret: string, body: object): Record<string, string> {
  return { 'x-croupier-signature': signBody(secret, JSON.stringify(body)) };
}

async function seedPlayers(baseUrl: string): Promise<string[]> {
  const players = Array.from({ length: playerCount }, (_, index) => `bench-player-${index}`);
  for (const playerId of players) {
    await post(baseUrl, '/v1/players', { playerId, currency: 'EUR' }, { 'x-api-key': API_KEY });
    const deposit = { paymentReference: `seed-${playerId}`, playerId, amount: '1000000.00', currency: 'EUR', method: 'card' };
    await post(baseUrl, '/v1/payments/deposit-completed', deposit, signed(PAYMENT_SECRET, deposit));
  }
  return players;
}

async function runLoad(baseUrl: string, players: string[]) {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const statusCounts = new Map<number, number>();
  const deadline = performance.now() + durationSeconds * 1000;
  let sequence = 0;

  const worker = async (workerIndex: number): Promise<void> => {
    while (performance.now() < deadline) {
      sequence += 1;
      const playerId = players[(workerIndex + sequence) % players.length] as string;
      const bet = { playerId, transactionId: `tx-${sequence}`, roundId: `round-${sequence}`, gameId: 'bench', amount: '0.10', currency: 'EUR' };
      const startedAt = performance.now();
      const status = await post(baseUrl, `/v1/providers/${PROVIDER}/wallet/bet`, bet, signed(PROVIDER_SECRET, bet));
      histogram.recordValue(Math.round((performance.now() - startedAt) * 1000));
      statusCounts.set(status, (statusCounts.get(status) ?? 0) + 1);
    }
  };

  const startedAt = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, index) => worker(index)));
  const elapsedSeconds = (performance.now() - startedAt) / 1000;
  return { histogram, statusCounts, elapsedSeconds };
}

async function main(): Promise<void> {
  const settings = infraSettings();
  const brand = uniqueBrand('bench');
  const database = await createTestDatabase(settings.pgUrl);
  const vhost = await createTestVhost(settings, brand);
  const wallet = await startWalletProcess({ brand, databaseUrl: database.url, amqpUrl: vhost.amqpUrl });
  try {
    const players = await seedPlayers(wallet.baseUrl);
    const { histogram, statusCounts, elapsedSeconds } = await runLoad(wallet.baseUrl, players);
    const toMs = (microseconds: number): string => (microseconds / 1000).toFixed(2);
    process.stdout.write(`${JSON.stringify({
      date: new Date().toISOString(),
      durationSeconds: Number(elapsedSeconds.toFixed(1)),
      concurrency,
      players: playerCount,
      requests: histogram.totalCount,
      requestsPerSecond: Math.round(histogram.totalCount / elapsedSeconds),
      statusCounts: Object.fromEntries(statusCounts),
      latencyMs: {
        p50: toMs(histogram.getValueAtPercentile(50)),
        p99: toMs(histogram.getValueAtPercentile(99)),
        p999: toMs(histogram.getValueAtPercentile(99.9)),
        max: toMs(histogram.maxValue),
      },
    }, null, 2)}\n`);
  } finally {
    await stopWalletProcess(wallet, 'SIGTERM');
    agent.destroy();
    await vhost.remove();
    await database.drop();
  }
}

await main();
