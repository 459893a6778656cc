import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { createTestVhost } from '@croupier/shared/testing';
import type { InterventionPrompt } from '@croupier/shared/contracts';
import type { PlayerClient } from '@croupier/player-client';
import { buildBalanceChanged, buildInterventionTriggered } from './helpers/events.js';
import {
  connectPlayer,
  readMetric,
  seedPlayer,
  startTestGateway,
  tokenProvider,
  useBrandFixture,
  waitFor,
  waitForBalanceVersion,
  type BrandFixture,
  type TestResources,
} from './helpers/fixtures.js';

/** Connects a player and collects the prompts it receives, after its first snapshot. */
async function connectCollecting(
  fixture: BrandFixture,
  resources: TestResources,
  url: string,
  playerId: string,
): Promise<{ client: PlayerClient; prompts: InterventionPrompt[] }> {
  const client = connectPlayer(resources, { url, getToken: tokenProvider(fixture, playerId) });
  const prompts: InterventionPrompt[] = [];
  client.on('intervention', (prompt) => prompts.push(prompt));
  await waitForBalanceVersion(client, 1);
  return { client, prompts };
}

describe('intervention prompts', () => {
  const brand = useBrandFixture('prompt');
  const { resources } = brand;

  test('prompt pushed to the player', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture);
    const { prompts } = await connectCollecting(brand.fixture, resources, gateway.url, playerId);

    const event = buildInterventionTriggered({
      brand: brand.fixture.brand,
      playerId,
      actions: ['prompt', 'flag'],
      message: 'You have played for two hours. Take a break?',
    });
    await brand.fixture.publisher.publish(event);
    const [prompt] = await waitFor(() => prompts.length > 0 && prompts, 'an intervention prompt');

    assert.equal(prompt?.eventId, event.id, 'the prompt carries the event id');
    assert.equal(prompt?.interventionId, event.data.interventionId, 'the prompt carries the intervention id');
    assert.equal(prompt?.playerId, playerId, 'the prompt is for the player');
    assert.equal(prompt?.message, 'You have played for two hours. Take a break?', 'the message comes from the event');
    assert.equal(prompt?.severity, 'medium', 'the severity comes from the event');
    assert.equal(prompt?.ruleId, 'deposits-per-day', 'the rule id comes from the event');
    assert.equal(prompt?.triggeredAt, event.committedAt, 'triggeredAt is the commit time');
    assert.equal(prompt?.triggeringCommittedAt, event.data.triggeringCommittedAt, 'the triggering event commit time is passed on');
    assert.equal(await readMetric(gateway.url, 'push_gateway_intervention_prompts_emitted_total'), 1, 'one prompt counted');
  });

  test('no prompt without the prompt action', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture);
    const { client, prompts } = await connectCollecting(brand.fixture, resources, gateway.url, playerId);

    await brand.fixture.publisher.publish(buildInterventionTriggered({ brand: brand.fixture.brand, playerId, actions: ['email', 'flag'] }));
    // A later balance change on the same queue proves the intervention was consumed before it.
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2 }));
    await waitForBalanceVersion(client, 2);

    assert.equal(prompts.length, 0, 'an email-and-flag intervention is not shown to the player');
    assert.equal(await readMetric(gateway.url, 'push_gateway_intervention_prompts_emitted_total'), 0, 'no prompt counted');
  });

  test('prompt reaches only its player', async () => {
    const gateway = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture);
    const otherPlayerId = seedPlayer(brand.fixture);
    const target = await connectCollecting(brand.fixture, resources, gateway.url, playerId);
    const bystander = await connectCollecting(brand.fixture, resources, gateway.url, otherPlayerId);

    await brand.fixture.publisher.publish(buildInterventionTriggered({ brand: brand.fixture.brand, playerId }));
    await waitFor(() => target.prompts.length > 0, 'the prompt of the target player');
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId: otherPlayerId, balanceVersion: 2 }));
    await waitForBalanceVersion(bystander.client, 2);

    assert.equal(bystander.prompts.length, 0, 'another player does not receive the prompt');
  });

  test('duplicate prompt delivered once', async () => {
    const replicaA = await startTestGateway(brand.fixture, resources);
    const replicaB = await startTestGateway(brand.fixture, resources);
    const playerId = seedPlayer(brand.fixture);
    const { client, prompts } = await connectCollecting(brand.fixture, resources, replicaA.url, playerId);

    const event = buildInterventionTriggered({ brand: brand.fixture.brand, playerId });
    await brand.fixture.publisher.publish(event);
    await brand.fixture.publisher.publish(event);
    // The same intervention under a new event id, as a producer that publishes twice would send it.
    await brand.fixture.publisher.publish({ ...event, id: randomUUID() });
    await brand.fixture.publisher.publish(buildBalanceChanged({ brand: brand.fixture.brand, playerId, balanceVersion: 2 }));
    await waitForBalanceVersion(client, 2);
    const countDeduplicated = async (): Promise<number> =>
      (await readMetric(replicaA.url, 'push_gateway_events_deduplicated_total')) +
      (await readMetric(replicaB.url, 'push_gateway_events_deduplicated_total'));
    const deduplicatedTotal = await waitFor(async () => (await countDeduplicated()) || undefined, 'a deduplicated delivery');
    // Gives a wrongly repeated prompt time to arrive before counting.
    await sleep(200);

    assert.equal(deduplicatedTotal, 1, 'the copy with the same event id was skipped on the bus');
    assert.equal(prompts.length, 1, 'the player client shows the intervention once');
    assert.equal(prompts[0]?.eventId, event.id, 'the first copy is the one shown');
  });

  test('player on the other replica receives the prompt', async () => {
    const idleVhost = await createTestVhost(brand.fixture.infra, `${brand.fixture.brand}-idle`);
    resources.add(() => idleVhost.remove());
    const consumingReplica = await startTestGateway(brand.fixture, resources);
    const otherReplica = await startTestGateway(brand.fixture, resources, { amqpUrl: idleVhost.amqpUrl });
    const playerId = seedPlayer(brand.fixture);
    const { prompts } = await connectCollecting(brand.fixture, resources, otherReplica.url, playerId);

    await brand.fixture.publisher.publish(buildInterventionTriggered({ brand: brand.fixture.brand, playerId }));
    await waitFor(() => prompts.length > 0, 'the prompt through the Redis adapter');

    assert.equal(await readMetric(consumingReplica.url, 'push_gateway_intervention_prompts_emitted_total'), 1, 'replica A emitted');
    assert.equal(await readMetric(otherReplica.url, 'push_gateway_intervention_prompts_emitted_total'), 0, 'replica B consumed nothing');
  });
});
