import { createHmac } from 'node:crypto';
import http from 'node:http';

/** Status and parsed JSON body of one wallet API call; non-2xx statuses are returned, not thrown. */
export interface WalletReply<T = Record<string, unknown>> {
  statusCode: number;
  body: T;
  replayed: boolean;
}

/** Body of a successful money operation (bet, win, rollback, payment, bonus). */
export interface TransactionBody {
  transactionId: string;
  playerId: string;
  currency: string;
  balance: string;
  cash: string;
  bonus: string;
  balanceVersion: number;
  error?: { code: string; message: string };
}

export interface WalletApiOptions {
  baseUrl: string;
  apiKey: string;
  providerSecrets: Readonly<Record<string, string>>;
  paymentSecret: string;
  /** Sockets kept open to the wallet; bounds the client's concurrency. */
  maxSockets?: number;
}

export interface GameCall {
  provider: string;
  playerId: string;
  transactionId: string;
  roundId: string;
  gameId: string;
}

/**
 * The wallet's HTTP API as its three kinds of callers use it: game providers
 * (HMAC-signed seamless-wallet calls), the payment provider (signed payment
 * notifications) and the licensee backend (API key).
 */
export class WalletApi {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(private readonly options: WalletApiOptions) {
    this.base = new URL(options.baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  }

  close(): void {
    this.agent.destroy();
  }

  createPlayer(playerId: string, currency: string): Promise<WalletReply> {
    return this.licensee('POST', '/v1/players', { playerId, currency });
  }

  async sessionToken(playerId: string): Promise<string> {
    const reply = await this.licensee<{ token: string }>('POST', `/v1/players/${encodeURIComponent(playerId)}/session-tokens`);
    if (reply.statusCode !== 201) throw new Error(`session token for ${playerId} failed with HTTP ${reply.statusCode}: ${JSON.stringify(reply.body)}`);
    return reply.body.token;
  }

  snapshot(playerId: string): Promise<WalletReply<{ cashMinor: number; bonusMinor: number; balanceVersion: number }>> {
    return this.licensee('GET', `/v1/players/${encodeURIComponent(playerId)}/balance`);
  }

  creditBonus(playerId: string, bonusReference: string, amount: string, currency: string): Promise<WalletReply<TransactionBody>> {
    return this.licensee('POST', `/v1/players/${encodeURIComponent(playerId)}/bonus-credits`, { bonusReference, amount, currency });
  }

  bet(call: GameCall, amount: string, currency: string): Promise<WalletReply<TransactionBody>> {
    return this.provider(call.provider, 'bet', { ...withoutProvider(call), amount, currency });
  }

  win(call: GameCall, amount: string, currency: string, extra: { betTransactionId?: string; endRound?: boolean } = {}): Promise<WalletReply<TransactionBody>> {
    return this.provider(call.provider, 'win', { ...withoutProvider(call), amount, currency, ...extra });
  }

  rollback(call: GameCall, betTransactionId: string): Promise<WalletReply<TransactionBody>> {
    return this.provider(call.provider, 'rollback', { ...withoutProvider(call), betTransactionId });
  }

  endRound(call: GameCall): Promise<WalletReply<TransactionBody>> {
    return this.provider(call.provider, 'end-round', withoutProvider(call));
  }

  depositCompleted(playerId: string, paymentReference: string, amount: string, currency: string): Promise<WalletReply<TransactionBody>> {
    return this.payment('deposit-completed', { paymentReference, playerId, amount, currency, method: 'card' });
  }

  withdrawalRequested(playerId: string, paymentReference: string, amount: string, currency: string): Promise<WalletReply<TransactionBody>> {
    return this.payment('withdrawal-requested', { paymentReference, playerId, amount, currency });
  }

  withdrawalCompleted(playerId: string, paymentReference: string): Promise<WalletReply<TransactionBody>> {
    return this.payment('withdrawal-completed', { paymentReference, playerId });
  }

  private provider<T>(provider: string, operation: string, body: object): Promise<WalletReply<T>> {
    const secret = this.options.providerSecrets[provider];
    if (secret === undefined) throw new Error(`no secret configured for provider ${provider}`);
    return this.signed(`/v1/providers/${provider}/wallet/${operation}`, secret, body);
  }

  private payment<T>(operation: string, body: object): Promise<WalletReply<T>> {
    return this.signed(`/v1/payments/${operation}`, this.options.paymentSecret, body);
  }

  private signed<T>(path: string, secret: string, body: object): Promise<WalletReply<T>> {
    const payload = JSON.stringify(body);
    const signature = `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
    return this.send('POST', path, payload, { 'x-croupier-signature': signature });
  }

  private licensee<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<WalletReply<T>> {
    return this.send(method, path, body === undefined ? undefined : JSON.stringify(body), { 'x-api-key': this.options.apiKey });
  }

  private send<T>(method: string, path: string, payload: string | undefined, headers: Record<string, string>): Promise<WalletReply<T>> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          agent: this.agent,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path,
          headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          timeout: 30_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({
                statusCode: response.statusCode ?? 0,
                body: (text === '' ? {} : JSON.parse(text)) as T,
                replayed: response.headers['idempotent-replayed'] === 'true',
              });
            } catch (error) {
              reject(new Error(`${method} ${path} returned HTTP ${response.statusCode} with a body that is not JSON: ${(error as Error).message}`));
            }
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`${method} ${path} timed out`)));
      request.on('error', reject);
      request.end(payload);
    });
  }
}

function withoutProvider(call: GameCall): Omit<GameCall, 'provider'> {
  const { provider: _provider, ...rest } = call;
  return rest;
}
