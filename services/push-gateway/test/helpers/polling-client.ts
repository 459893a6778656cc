import { PLAYER_NAMESPACE } from '@croupier/shared/contracts';

/** Separator of packets in one engine.io v4 long-polling payload. */
const RECORD_SEPARATOR = '\x1e';

/**
 * A bare engine.io long-polling client that polls only when the test calls
 * `poll()`, so a test can stop reading the way a stalled browser tab does.
 */
export class ManualPollingClient {
  private constructor(
    private readonly baseUrl: string,
    readonly sid: string,
  ) {}

  static async open(gatewayUrl: string): Promise<ManualPollingClient> {
    const baseUrl = `${gatewayUrl}/socket.io/?EIO=4&transport=polling`;
    const body = await (await fetch(baseUrl)).text();
    if (!body.startsWith('0')) throw new Error(`unexpected engine.io open packet: ${body}`);
    const { sid } = JSON.parse(body.slice(1)) as { sid: string };
    return new ManualPollingClient(baseUrl, sid);
  }

  /** Sends the socket.io CONNECT packet of the player namespace with the token. */
  async connectNamespace(token: string): Promise<void> {
    await this.send(`40${PLAYER_NAMESPACE},${JSON.stringify({ token })}`);
  }

  async send(packet: string): Promise<void> {
    const response = await fetch(`${this.baseUrl}&sid=${this.sid}`, { method: 'POST', body: packet });
    if (response.status !== 200) throw new Error(`poll POST failed with HTTP ${response.status}`);
    await response.text();
  }

  /** Performs one GET poll and returns its packets and HTTP status. */
  async poll(timeoutMs = 5000): Promise<{ status: number; packets: string[] }> {
    const response = await fetch(`${this.baseUrl}&sid=${this.sid}`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return { status: response.status, packets: response.status === 200 ? body.split(RECORD_SEPARATOR) : [] };
  }
}
