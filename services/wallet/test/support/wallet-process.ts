import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { API_KEY, PAYMENT_SECRET, PLAYER_TOKEN_SECRET, PROVIDER, PROVIDER_SECRET } from './wallet.js';

const MAIN_PATH = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface WalletProcess {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
}

/** Starts `src/main.ts` as a child process on a free loopback port and waits until it listens. */
export async function startWalletProcess(env: {
  brand: string;
  databaseUrl: string;
  amqpUrl: string;
  logLevel?: string;
}): Promise<WalletProcess> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN_PATH], {
    env: {
      ...process.env,
      WALLET_BRAND: env.brand,
      DATABASE_URL: env.databaseUrl,
      AMQP_URL: env.amqpUrl,
      WALLET_HTTP_HOST: '127.0.0.1',
      WALLET_HTTP_PORT: '0',
      WALLET_PROVIDER_SECRETS: JSON.stringify({ [PROVIDER]: PROVIDER_SECRET }),
      WALLET_PAYMENT_SECRET: PAYMENT_SECRET,
      WALLET_API_KEYS: API_KEY,
      WALLET_PLAYER_TOKEN_SECRET: PLAYER_TOKEN_SECRET,
      LOG_LEVEL: env.logLevel ?? 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`wallet exited with ${code} before listening:\n${output}`)));
  });
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`wallet did not listen within 20 s:\n${output}`)), 20_000).unref(),
  );

  const baseUrl = await Promise.race([listening, timeout]);
  return { child, baseUrl, output: () => output };
}

/** Sends a signal and waits for the exit; returns the exit code (null when killed by the signal). */
export async function stopWalletProcess(wallet: WalletProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (wallet.child.exitCode !== null) return wallet.child.exitCode;
  const exited = once(wallet.child, 'exit');
  wallet.child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}
