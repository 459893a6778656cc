import path from 'node:path';
import { parseArgs } from 'node:util';
import { infraSettings, type InfraSettings } from '@croupier/shared/testing';
import { DEMO_AGENT, DEMO_OFFICER, readFlags, runComplianceScenario, type ComplianceResult } from './compliance-scenario.js';
import { formatSummary } from './latency.js';
import { PlayerFleet, type DeliveryReport } from './player-fleet.js';
import { emptyTally, forEachConcurrently, playSession, type SessionTally } from './session.js';
import { BrandStack, DEMO_PROVIDER } from './stack/brand-stack.js';
import { REPOSITORY_ROOT } from './stack/service-process.js';

const USAGE = `Usage: demo [options]

Runs two brands end to end on this machine and replays provider sessions
while simulated players watch their balances through the push gateways. In
each brand a compliance player's deposits fire two behaviour rules, and the
demo prints the interventions and their latency.

Options:
  --players N           players per brand (default 300)
  --rounds N            extra bet-and-win rounds per player (default 10)
  --gateways N          gateway replicas per brand (default 2)
  --concurrency N       players playing at once per brand (default 300)
  --think-time-ms N     maximum pause between a player's calls (default 3000)
  --keep                after the run, keep the brands running with the back
                        office open and print their URLs and demo secrets;
                        Ctrl-C stops them and prints the report
  --help                show this text`;

interface DemoOptions {
  players: number;
  rounds: number;
  gateways: number;
  concurrency: number;
  thinkTimeMsMax: number;
  keep: boolean;
}

interface BrandResult {
  brand: string;
  tally: SessionTally;
  delivery: DeliveryReport;
  committedChanges: number;
  balanceMismatches: number;
  compliance: ComplianceResult;
  exitCodes: Array<number | null>;
}

const DEMO_RULES_FILE = path.join(REPOSITORY_ROOT, 'loadtest/config/demo-rules.yaml');

const BRANDS = [
  { brand: 'alpha', currency: 'EUR' },
  { brand: 'beta', currency: 'GBP' },
];

function parseDemoArgs() {
  return parseArgs({
    options: {
      players: { type: 'string', default: '300' },
      rounds: { type: 'string', default: '10' },
      gateways: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '300' },
      'think-time-ms': { type: 'string', default: '3000' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
}

function readOptions(): DemoOptions {
  let parsed: ReturnType<typeof parseDemoArgs>;
  try {
    parsed = parseDemoArgs();
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const integerAtLeast = (name: string, raw: string, minimum = 1): number => {
    const value = Number(raw);
    if (!Number.isInteger(value) || value < minimum) {
      console.error(`demo: --${name} must be an integer of at least ${minimum}, got ${JSON.stringify(raw)}`);
      process.exit(2);
    }
    return value;
  };
  return {
    players: integerAtLeast('players', values.players),
    rounds: integerAtLeast('rounds', values.rounds, 0),
    gateways: integerAtLeast('gateways', values.gateways),
    concurrency: integerAtLeast('concurrency', values.concurrency),
    thinkTimeMsMax: integerAtLeast('think-time-ms', values['think-time-ms'], 0),
    keep: values.keep,
  };
}

async function runBrand(stack: BrandStack, infra: InfraSettings, currency: string, options: DemoOptions): Promise<Omit<BrandResult, 'exitCodes'>> {
  const api = stack.walletApi;
  // Runs alongside the sessions. Settled at once, so a failure surfaces where it is
  // awaited below instead of as an unhandled rejection that would skip stopping the services.
  const compliance = runComplianceScenario(stack, infra, currency).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  const playerIds = Array.from({ length: options.players }, (_, index) => `${stack.brand}-player-${index + 1}`);
  await forEachConcurrently(playerIds, 50, async (playerId) => {
    const reply = await api.createPlayer(playerId, currency);
    if (reply.statusCode !== 201) throw new Error(`creating ${playerId} failed with HTTP ${reply.statusCode}: ${JSON.stringify(reply.body)}`);
  });

  const fleet = new PlayerFleet();
  await fleet.connect(
    playerIds.map((playerId, index) => ({
      playerId,
      gatewayUrl: stack.gatewayUrls[index % stack.gatewayUrls.length] as string,
      getToken: () => api.sessionToken(playerId),
    })),
  );
  log(`${stack.brand}: ${playerIds.length} players connected across ${stack.gatewayUrls.length} gateway replicas`);

  const tally = emptyTally();
  const sessionOptions = { currency, extraRounds: options.rounds, thinkTimeMsMax: options.thinkTimeMsMax };
  await forEachConcurrently(playerIds, options.concurrency, (playerId) => playSession(api, playerId, sessionOptions, tally));
  log(`${stack.brand}: sessions replayed, ${tally.appliedCalls} wallet calls applied, ${tally.replays} retries replayed`);

  const allArrived = await fleet.waitForVersions(tally.finalVersions, 15_000);
  if (!allArrived) log(`${stack.brand}: some players did not reach their final balance version within 15 s`);

  const delivery = fleet.report(tally.finalVersions);
  let committedChanges = 0;
  let balanceMismatches = 0;
  await forEachConcurrently(playerIds, 50, async (playerId) => {
    const snapshot = await api.snapshot(playerId);
    const clientBalance = fleet.balanceOf(playerId);
    committedChanges += snapshot.body.balanceVersion - (fleet.baselineVersionOf(playerId) ?? 0);
    if (
      clientBalance === undefined ||
      clientBalance.balanceVersion !== snapshot.body.balanceVersion ||
      clientBalance.cashMinor !== snapshot.body.cashMinor ||
      clientBalance.bonusMinor !== snapshot.body.bonusMinor
    ) {
      balanceMismatches += 1;
    }
  });
  fleet.close();
  const settled = await compliance;
  if ('error' in settled) throw settled.error;
  return { brand: stack.brand, tally, delivery, committedChanges, balanceMismatches, compliance: settled.result };
}

function printResult(result: BrandResult): void {
  const { delivery, tally } = result;
  const errors = [...tally.unexpectedErrors].map(([code, count]) => `${code} x${count}`).join(', ') || 'none';
  const rows: Array<[string, string | number]> = [
    ['players', delivery.players],
    ['wallet calls applied', `${tally.appliedCalls} (retried callbacks replayed: ${tally.replays})`],
    ['unexpected errors', errors],
    ['balance changes committed', result.committedChanges],
    ['pushes received', `${delivery.pushesReceived} (duplicates ${delivery.duplicates})`],
    ['lost', delivery.lost],
    ['out of order', delivery.outOfOrder],
    ['client != wallet', `${result.balanceMismatches} players`],
    ['commit-to-receive', formatSummary(delivery.latency.summary())],
    ['service exit codes', result.exitCodes.join(', ')],
  ];
  console.log(`\nbrand ${result.brand}`);
  for (const [label, value] of rows) console.log(`  ${label.padEnd(27)}${value}`);
  printCompliance(result.compliance);
}

function printCompliance(result: ComplianceResult): void {
  console.log(`  interventions for ${result.playerId} (three deposits of 9,500.00):`);
  for (const row of result.interventions) {
    const values = Object.entries(row.values).map(([name, value]) => `${name} ${value}`).join(', ');
    const prompt = row.eventToPromptMs === undefined ? 'no prompt (flag only)' : `prompt on the player's socket after ${row.eventToPromptMs.toFixed(1)} ms`;
    console.log(`    ${row.ruleId.padEnd(24)} ${row.ruleKind.padEnd(12)} ${values}`);
    console.log(`    ${''.padEnd(24)} event to intervention ${row.eventToInterventionMs.toFixed(1)} ms; ${prompt}`);
  }
  if (result.missingRules.length > 0) console.log(`    MISSING: ${result.missingRules.join(', ')} did not fire`);
  const flags = result.openFlags.map((flag) => `${flag.ruleId} (${flag.severity}, ${flag.status})`).join(', ') || 'none';
  console.log(`  compliance flags            ${flags}`);
}

function isFailure(result: BrandResult): boolean {
  return (
    result.delivery.lost > 0 ||
    result.balanceMismatches > 0 ||
    result.tally.unexpectedErrors.size > 0 ||
    result.compliance.missingRules.length > 0 ||
    result.exitCodes.some((code) => code !== 0)
  );
}

/** Leaves the brands running for a look at the back office, until Ctrl-C. */
async function keepRunning(stacks: BrandStack[]): Promise<void> {
  for (const stack of stacks) {
    const secrets = stack.demoSecrets;
    log(`${stack.brand}: back office at ${stack.gatewayUrls[0]}/backoffice/ (officer: ${DEMO_OFFICER.username} / ${DEMO_OFFICER.password}, agent: ${DEMO_AGENT.username} / ${DEMO_AGENT.password}); watch player ${stack.brand}-compliance-1`);
    log(`${stack.brand}: wallet ${stack.walletUrl} (X-Api-Key ${secrets.walletApiKey}, payment secret ${secrets.paymentSecret}, provider ${DEMO_PROVIDER} secret ${secrets.providerSecret}), rules API ${stack.rulesUrl}`);
  }
  log('these secrets are generated for this demo run only');
  log('press Ctrl-C to stop the brands and print the report');
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}

function log(message: string): void {
  console.log(`[demo ${new Date().toISOString().slice(11, 23)}] ${message}`);
}

async function main(): Promise<void> {
  const options = readOptions();
  const infra = infraSettings();
  const logDirectory = path.join(REPOSITORY_ROOT, '.infra', 'demo-logs');
  const startedAtMs = Date.now();

  log(`starting ${BRANDS.length} brands, each with a wallet, a rules engine and ${options.gateways} gateway replicas (logs in ${logDirectory})`);
  const stacks: BrandStack[] = [];
  try {
    for (const { brand } of BRANDS) {
      stacks.push(await BrandStack.start({ brand, infra, gatewayReplicas: options.gateways, logDirectory, rules: { file: DEMO_RULES_FILE, env: { RULES_STAFF_SEED: JSON.stringify([DEMO_OFFICER, DEMO_AGENT]) } } }));
    }
    const outcomes = await Promise.all(stacks.map((stack, index) => runBrand(stack, infra, BRANDS[index]?.currency ?? 'EUR', options)));

    if (options.keep) {
      await keepRunning(stacks);
      // Staff may have reviewed or resolved flags meanwhile; report them as they are now.
      for (const [index, stack] of stacks.entries()) {
        const outcome = outcomes[index] as Omit<BrandResult, 'exitCodes'>;
        outcome.compliance.openFlags = await readFlags(stack, outcome.compliance.playerId);
      }
    }
    const results: BrandResult[] = [];
    for (const [index, stack] of stacks.entries()) {
      const exitCodes = await stack.stop();
      results.push({ ...(outcomes[index] as Omit<BrandResult, 'exitCodes'>), exitCodes });
    }
    stacks.length = 0;

    results.forEach(printResult);
    const failed = results.filter(isFailure);
    console.log(`\ndemo finished in ${((Date.now() - startedAtMs) / 1000).toFixed(1)} s: ${failed.length === 0 ? 'nothing lost' : `FAILED for ${failed.map((result) => result.brand).join(', ')}`}`);
    process.exitCode = failed.length === 0 ? 0 : 1;
  } finally {
    await Promise.all(stacks.map((stack) => stack.stop()));
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
