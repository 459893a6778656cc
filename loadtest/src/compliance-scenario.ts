import { BusConnection, createLogger, vhostAmqpUrl } from '@croupier/shared';
import { nowEpochMicros, parseIsoMicros, type EventEnvelope, type InterventionPrompt } from '@croupier/shared/contracts';
import { PlayerClient } from '@croupier/player-client';
import type { InfraSettings } from '@croupier/shared/testing';
import { listenForInterventions } from './intervention-listener.js';
import type { BrandStack } from './stack/brand-stack.js';

/**
 * The demo's compliance player: three deposits of 9,500.00 cross the demo
 * rules' 1,000.00-in-24-hours deposit threshold (on the first deposit) and
 * the structuring pattern (three deposits just under the 10,000.00 reporting
 * threshold, on the third). The scenario records each InterventionTriggered
 * from the bus and each prompt the player's client receives, with their
 * latency from the deposit's commit, and reads the flags the rules raised
 * through the back office API, signed in as a seeded compliance officer.
 */

export interface InterventionRow {
  ruleId: string;
  ruleKind: string;
  values: Record<string, number>;
  /** From the triggering deposit's commit to the InterventionTriggered event on the bus. */
  eventToInterventionMs: number;
  /** From the same commit to the prompt on the player's socket; undefined for rules without the prompt action. */
  eventToPromptMs: number | undefined;
}

export interface ComplianceResult {
  playerId: string;
  interventions: InterventionRow[];
  openFlags: Array<{ ruleId: string; severity: string; status: string }>;
  expectedRules: string[];
  missingRules: string[];
}

const EXPECTED_RULES = ['deposits-1000-24h', 'structuring-deposits'];

/** The compliance officer the demo seeds in each brand's rules service and signs in as. */
export const DEMO_OFFICER = { username: 'demo-officer', password: 'demo-officer-password', role: 'compliance_officer' } as const;
/** An agent the demo seeds too, for a look at the back office without the compliance actions. */
export const DEMO_AGENT = { username: 'demo-agent', password: 'demo-agent-password', role: 'agent' } as const;
const DEPOSIT = '9500.00';

export async function runComplianceScenario(stack: BrandStack, infra: InfraSettings, currency: string): Promise<ComplianceResult> {
  const playerId = `${stack.brand}-compliance-1`;
  const api = stack.walletApi;
  const created = await api.createPlayer(playerId, currency);
  if (created.statusCode !== 201) throw new Error(`creating ${playerId} failed with HTTP ${created.statusCode}: ${JSON.stringify(created.body)}`);

  const logger = createLogger({ service: 'demo', level: 'warn' });
  const triggered: Array<{ event: EventEnvelope<'InterventionTriggered'>; receivedMicros: number }> = [];
  const prompts = new Map<string, { prompt: InterventionPrompt; receivedMicros: number }>();
  const bus = new BusConnection({ url: vhostAmqpUrl(infra.amqpUrl, stack.brand), connectionName: 'demo-compliance', logger });
  listenForInterventions(bus, (event, receivedMicros) => {
    if (event.playerId === playerId) triggered.push({ event, receivedMicros });
  });
  const client = new PlayerClient({ url: stack.gatewayUrls[0] as string, getToken: () => api.sessionToken(playerId) });
  client.on('intervention', (prompt) => prompts.set(prompt.interventionId, { prompt, receivedMicros: nowEpochMicros() }));
  try {
    await bus.start();
    await bus.waitUntilConnected();
    await new Promise<void>((resolve) => client.on('snapshot', () => resolve()));

    for (let deposit = 1; deposit <= 3; deposit += 1) {
      const reply = await api.depositCompleted(playerId, `compliance-${stack.brand}-${deposit}`, DEPOSIT, currency);
      if (reply.statusCode !== 200 && reply.statusCode !== 201) {
        throw new Error(`deposit ${deposit} of ${playerId} failed with HTTP ${reply.statusCode}: ${JSON.stringify(reply.body)}`);
      }
    }
    const deadline = Date.now() + 15_000;
    const seenRules = (): Set<string> => new Set(triggered.map(({ event }) => event.data.ruleId));
    while (Date.now() < deadline && EXPECTED_RULES.some((rule) => !seenRules().has(rule))) await sleep(50);
    // A prompt follows its event through the gateway; give it a moment.
    const promptDeadline = Date.now() + 5000;
    const wantsPrompt = triggered.filter(({ event }) => event.data.actions.includes('prompt'));
    while (Date.now() < promptDeadline && wantsPrompt.some(({ event }) => !prompts.has(event.data.interventionId))) await sleep(50);

    const interventions = triggered.map(({ event, receivedMicros }) => {
      const committedMicros = parseIsoMicros(event.data.triggeringCommittedAt);
      const prompt = prompts.get(event.data.interventionId);
      return {
        ruleId: event.data.ruleId,
        ruleKind: event.data.ruleKind,
        values: event.data.values,
        eventToInterventionMs: (receivedMicros - committedMicros) / 1000,
        eventToPromptMs: prompt === undefined ? undefined : (prompt.receivedMicros - committedMicros) / 1000,
      };
    });
    return {
      playerId,
      interventions,
      openFlags: await readFlags(stack, playerId),
      expectedRules: EXPECTED_RULES,
      missingRules: EXPECTED_RULES.filter((rule) => !seenRules().has(rule)),
    };
  } finally {
    client.close();
    await bus.close();
  }
}

/** Reads the player's flags through the rules service's back office API, as a compliance officer would. */
export async function readFlags(stack: BrandStack, playerId: string): Promise<ComplianceResult['openFlags']> {
  if (stack.rulesUrl === undefined) return [];
  const signIn = await fetch(`${stack.rulesUrl}/staff/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: DEMO_OFFICER.username, password: DEMO_OFFICER.password }),
  });
  if (!signIn.ok) throw new Error(`signing in as ${DEMO_OFFICER.username} failed with HTTP ${signIn.status}: ${await signIn.text()}`);
  const { token } = (await signIn.json()) as { token: string };
  const response = await fetch(`${stack.rulesUrl}/players/${encodeURIComponent(playerId)}/flags`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`reading the flags of ${playerId} failed with HTTP ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { flags: Array<{ ruleId: string; severity: string; status: string }> };
  return body.flags.map(({ ruleId, severity, status }) => ({ ruleId, severity, status }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
