import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, copyFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Redis } from 'ioredis';
import { brandRedisPrefix } from '@croupier/shared';
import { createTestVhost, findFreePort, infraSettings, uniqueBrand, type InfraSettings } from '@croupier/shared/testing';
import { OperatorEnvSchema } from '../../operator/src/config.js';
import { OPERATOR_NAMESPACE, startHarness, type Harness } from '../../operator/test/support/harness.js';
import { checkDockerfile, formatFindings, REPOSITORY_ROOT, type DockerfileReport, type Stage } from './support/dockerfile-report.js';
import { buildImageLayouts } from './support/image-layout.js';
import { copyLayoutForRun, processUid, runHealthcheck, startEntrypoint, waitUntilReady, type ImageProcess } from './support/image-process.js';

/**
 * Checks the container images without a container engine. The Dockerfile is
 * linted by BuildKit's checks and the project's rules, and every COPY source
 * is checked against the context. Then each image's file layout is
 * reproduced, and its ENTRYPOINT runs with plain `node` against the real
 * infrastructure.
 */

const ROOT_VERSION = (JSON.parse(readFileSync(path.join(REPOSITORY_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const BUILD_ARGS = { VERSION: ROOT_VERSION, REVISION: 'test', CREATED: '2026-01-01T00:00:00Z' };

/** Images that docs/images.md lists, by target, with workspace, entrypoint and the port variable that the HEALTHCHECK reads. */
const IMAGES = {
  wallet: { workspace: 'services/wallet', entrypoint: 'services/wallet/dist/src/main.js', portVariable: 'WALLET_HTTP_PORT' },
  rules: { workspace: 'services/rules', entrypoint: 'services/rules/dist/src/main.js', portVariable: 'PORT' },
  'push-gateway': { workspace: 'services/push-gateway', entrypoint: 'services/push-gateway/dist/src/main.js', portVariable: 'PORT' },
  operator: { workspace: 'operator', entrypoint: 'operator/dist/src/main.js', portVariable: 'OPERATOR_HTTP_PORT' },
} as const;
type ImageName = keyof typeof IMAGES;

function target(report: DockerfileReport, name: ImageName): Stage {
  const stage = report.stages.find((candidate) => candidate.name === name && candidate.isTarget);
  assert.ok(stage, `the Dockerfile has no target stage ${name}`);
  return stage;
}

/**
 * Asserts that a process started from an image runs as the image's USER. It
 * checks nothing unless the test runs as root, because only root can switch users.
 */
function assertRunsAsImageUser(name: string, stage: Stage, pid: number | undefined): void {
  if (process.getuid?.() !== 0) return;
  assert.equal(processUid(pid as number), Number(stage.user.split(':')[0]), `${name}: runs as the image's USER ${stage.user}`);
}

function randomSecret(): string {
  return randomBytes(24).toString('hex');
}

describe('Dockerfile', () => {
  let report: DockerfileReport;

  before(async () => {
    report = await checkDockerfile(REPOSITORY_ROOT, { buildArgs: BUILD_ARGS });
  });

  it('passes BuildKit checks and project rules', () => {
    assert.deepEqual(report.findings, [], formatFindings(report.findings));
  });

  it('has one target per image', () => {
    const targets = report.stages.filter((stage) => stage.isTarget).map((stage) => stage.name);
    assert.deepEqual(targets.sort(), Object.keys(IMAGES).sort());
    for (const [name, image] of Object.entries(IMAGES)) {
      const stage = target(report, name as ImageName);
      assert.deepEqual(stage.entrypoint, ['node', image.entrypoint], `${name}: ENTRYPOINT`);
      assert.equal(stage.user, '10001:10001', `${name}: USER must match the runAsUser and runAsGroup of the Deployments`);
      assert.equal(stage.labels['org.opencontainers.image.version'], ROOT_VERSION, `${name}: version label`);
      assert.equal(stage.labels['org.opencontainers.image.title'], `croupier-${name}`, `${name}: title label`);
      assert.ok(stage.healthcheck?.some((part) => part.includes(image.portVariable)), `${name}: HEALTHCHECK reads ${image.portVariable}`);
    }
  });

  it('tags match the root version', () => {
    for (const workspace of ['services/shared', 'services/wallet', 'services/rules', 'services/push-gateway', 'operator']) {
      const manifest = JSON.parse(readFileSync(path.join(REPOSITORY_ROOT, workspace, 'package.json'), 'utf8')) as { version: string };
      assert.equal(manifest.version, ROOT_VERSION, `${workspace}/package.json version`);
    }
    const defaults = OperatorEnvSchema.properties;
    assert.equal(defaults.OPERATOR_IMAGE_WALLET.default, `ghcr.io/croupier/wallet:${ROOT_VERSION}`);
    assert.equal(defaults.OPERATOR_IMAGE_RULES.default, `ghcr.io/croupier/rules:${ROOT_VERSION}`);
    assert.equal(defaults.OPERATOR_IMAGE_GATEWAY.default, `ghcr.io/croupier/push-gateway:${ROOT_VERSION}`);
    const docs = readFileSync(path.join(REPOSITORY_ROOT, 'docs/images.md'), 'utf8');
    for (const name of Object.keys(IMAGES)) assert.match(docs, new RegExp(`ghcr\\.io/croupier/${name}:<version>`), `docs/images.md names ${name}`);
  });
});

describe('dockerfile-check on a broken Dockerfile', () => {
  let contextDir: string;
  let report: DockerfileReport;

  before(async () => {
    contextDir = mkdtempSync(path.join(os.tmpdir(), 'croupier-dockerfile-check-'));
    mkdirSync(path.join(contextDir, 'app'));
    writeFileSync(path.join(contextDir, 'app/main.js'), 'console.log("hi")\n');
    writeFileSync(path.join(contextDir, '.env'), 'SECRET=1\n');
    writeFileSync(path.join(contextDir, '.dockerignore'), '.env\n');
    writeFileSync(
      path.join(contextDir, 'Dockerfile'),
      [
        'from node:latest as Build',
        'ADD https://example.invalid/tool.tgz /tmp/',
        'COPY app/ missing.txt .env /app/',
        'FROM node:20-slim',
        'COPY --from=build /app /app',
        'USER root',
        'CMD node /app/main.js',
        'FROM node:20.20.2-slim AS named',
        'USER node',
        'HEALTHCHECK CMD wget -q localhost',
        'ENTRYPOINT ["node"]',
        '',
      ].join('\n'),
    );
    report = await checkDockerfile(contextDir);
  });

  after(() => rmSync(contextDir, { recursive: true, force: true }));

  const expected: Array<[string, number]> = [
    ['ConsistentInstructionCasing', 1],
    ['StageNameCasing', 1],
    ['BaseImageLatest', 1],
    ['AddFromUrl', 2],
    ['CopySourceMissing', 3],
    ['CopySourceExcluded', 3],
    ['BaseImageNotPinned', 4],
    ['UserNotNumeric', 6],
    ['JSONArgsRecommended', 7],
    ['HealthcheckMissing', 4],
    ['LabelMissing', 4],
    ['UserNotNumeric', 9],
    ['HealthcheckShellForm', 10],
  ];
  for (const [rule, line] of expected) {
    it(`reports ${rule} on line ${line}`, () => {
      assert.ok(
        report.findings.some((finding) => finding.rule === rule && finding.line === line),
        `expected ${rule} on line ${line}; found:\n${formatFindings(report.findings)}`,
      );
    });
  }

  it('treats only unused stages as images', () => {
    assert.deepEqual(report.stages.filter((stage) => stage.isTarget).map((stage) => stage.name), ['1', 'named']);
  });

  it('accepts an existing, included COPY source', () => {
    const app = report.findings.filter((finding) => finding.message.includes('app/'));
    assert.deepEqual(app, [], formatFindings(app));
  });
});

/** The environment the operator gives each brand service, with loopback addresses and a test brand. */
interface BrandEnvironment {
  brand: string;
  databaseUrl: string;
  amqpUrl: string;
  redisUrl: string;
  secrets: { provider: string; payment: string; apiKey: string; playerToken: string; staffToken: string };
  remove(): Promise<void>;
}

async function createBrand(infra: InfraSettings): Promise<BrandEnvironment> {
  const brand = uniqueBrand('images');
  const database = brand.replaceAll('-', '_');
  const admin = new pg.Client({ connectionString: infra.pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  await admin.end();
  const databaseUrl = Object.assign(new URL(infra.pgUrl), { pathname: `/${database}` }).toString();
  // In a cluster the operator creates the rules schema for the rules role, and here the admin connection does.
  const brandDatabase = new pg.Client({ connectionString: databaseUrl });
  await brandDatabase.connect();
  await brandDatabase.query('CREATE SCHEMA rules');
  await brandDatabase.end();
  const vhost = await createTestVhost(infra, brand);

  return {
    brand,
    databaseUrl,
    amqpUrl: vhost.amqpUrl,
    redisUrl: infra.redisUrl,
    secrets: { provider: randomSecret(), payment: randomSecret(), apiKey: randomSecret(), playerToken: randomSecret(), staffToken: randomSecret() },
    async remove() {
      await vhost.remove();
      const client = new pg.Client({ connectionString: infra.pgUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
      await client.end();
      const redis = new Redis(infra.redisUrl);
      const keys = await redis.keys(`${brandRedisPrefix(brand)}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

describe('image layouts', { timeout: 15 * 60_000 }, () => {
  let report: DockerfileReport;
  let roots: Map<string, string>;
  let workDir: string;

  before(async () => {
    report = await checkDockerfile(REPOSITORY_ROOT, { buildArgs: BUILD_ARGS, listContext: true });
    ({ roots } = await buildImageLayouts(report, REPOSITORY_ROOT, BUILD_ARGS));
    workDir = mkdtempSync(path.join(os.tmpdir(), 'croupier-images-test-'));
    chmodSync(workDir, 0o755);
  });

  after(() => rmSync(workDir, { recursive: true, force: true }));

  const appDir = (name: ImageName): string => path.join(roots.get(name) as string, target(report, name).workdir);

  it('entrypoints come from the build stage', () => {
    for (const [name, image] of Object.entries(IMAGES)) {
      assert.ok(existsSync(path.join(appDir(name as ImageName), image.entrypoint)), `${name}: ${image.entrypoint} is in the image`);
      assert.ok(!report.contextFiles?.includes(image.entrypoint), `${name}: ${image.entrypoint} is built, not copied from the context`);
    }
  });

  it('images contain every runtime file', () => {
    for (const [name, image] of Object.entries(IMAGES)) {
      for (const workspace of ['services/shared', image.workspace]) {
        // tsc emits JavaScript only, so SQL, Lua and other files under src must be copied next to the output.
        const tsconfig = JSON.parse(readFileSync(path.join(REPOSITORY_ROOT, workspace, 'tsconfig.json'), 'utf8')) as { compilerOptions: { rootDir: string } };
        const sourceDir = path.join(REPOSITORY_ROOT, workspace, 'src');
        for (const file of readdirSync(sourceDir, { recursive: true, withFileTypes: true })) {
          if (!file.isFile() || file.name.endsWith('.ts')) continue;
          const relative = path.relative(path.join(REPOSITORY_ROOT, workspace, tsconfig.compilerOptions.rootDir), path.join(file.parentPath, file.name));
          const inImage = path.join(appDir(name as ImageName), workspace, 'dist', relative);
          assert.ok(existsSync(inImage), `${name}: ${workspace}/src/${path.relative(sourceDir, path.join(file.parentPath, file.name))} is missing at ${path.relative(appDir(name as ImageName), inImage)}`);
        }
      }
    }
    assert.ok(existsSync(path.join(appDir('push-gateway'), 'services/push-gateway/public/backoffice/index.html')), 'push-gateway: back office page');
  });

  it('images leave out tests and dev dependencies', () => {
    for (const [name, image] of Object.entries(IMAGES)) {
      const app = appDir(name as ImageName);
      assert.ok(!existsSync(path.join(app, image.workspace, 'dist/test')), `${name}: compiled tests`);
      assert.ok(!existsSync(path.join(app, image.workspace, 'src')), `${name}: TypeScript sources`);
      for (const devOnly of ['typescript', 'tsx', 'eslint', 'playwright-core']) {
        assert.ok(!existsSync(path.join(app, 'node_modules', devOnly)), `${name}: node_modules/${devOnly}`);
      }
    }
  });

  describe('brand services', () => {
    let infra: InfraSettings;
    let brand: BrandEnvironment;
    const running: ImageProcess[] = [];
    const runRoots = new Map<ImageName, string>();

    before(async () => {
      infra = infraSettings();
      brand = await createBrand(infra);
    });

    after(async () => {
      await Promise.all(running.map((service) => service.stop()));
      await brand?.remove();
    });

    /** Starts the target from its layout, checks /readyz and the HEALTHCHECK, and returns its base URL. */
    async function startService(name: ImageName, env: Record<string, string>, port: number): Promise<string> {
      const stage = target(report, name);
      const root = copyLayoutForRun(roots.get(name) as string, workDir);
      runRoots.set(name, root);
      const service = startEntrypoint(stage, root, env);
      running.push(service);
      const url = `http://127.0.0.1:${port}`;
      await waitUntilReady(`${url}/readyz`, service);
      assertRunsAsImageUser(name, stage, service.child.pid);
      assert.equal(await runHealthcheck(stage, root, env), 0, `${name}: HEALTHCHECK against the running service`);
      return url;
    }

    it('wallet, rules and gateway become ready', async () => {
      const [walletPort, rulesPort, gatewayPort] = await Promise.all([findFreePort(), findFreePort(), findFreePort()]);
      const walletUrl = await startService('wallet', {
        WALLET_BRAND: brand.brand,
        WALLET_HTTP_HOST: '127.0.0.1',
        WALLET_HTTP_PORT: String(walletPort),
        DATABASE_URL: brand.databaseUrl,
        AMQP_URL: brand.amqpUrl,
        WALLET_PROVIDER_SECRETS: JSON.stringify({ default: brand.secrets.provider }),
        WALLET_PAYMENT_SECRET: brand.secrets.payment,
        WALLET_API_KEYS: brand.secrets.apiKey,
        WALLET_PLAYER_TOKEN_SECRET: brand.secrets.playerToken,
        WALLET_CURRENCIES: 'EUR',
      }, walletPort);

      // In a cluster the rules file is a read-only ConfigMap mount; here it is a copy of the demo rules.
      const rulesFile = path.join(workDir, 'rules.yaml');
      copyFileSync(path.join(REPOSITORY_ROOT, 'loadtest/config/demo-rules.yaml'), rulesFile);
      chmodSync(rulesFile, 0o644);
      const rulesUrl = await startService('rules', {
        BRAND: brand.brand,
        HOST: '127.0.0.1',
        PORT: String(rulesPort),
        AMQP_URL: brand.amqpUrl,
        REDIS_URL: brand.redisUrl,
        DATABASE_URL: brand.databaseUrl,
        RULES_FILE: rulesFile,
        STAFF_TOKEN_SECRET: brand.secrets.staffToken,
      }, rulesPort);

      const gatewayEnv = {
        BRAND: brand.brand,
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        REDIS_URL: brand.redisUrl,
        AMQP_URL: brand.amqpUrl,
        PLAYER_TOKEN_SECRET: brand.secrets.playerToken,
        WALLET_BASE_URL: walletUrl,
        WALLET_API_KEY: brand.secrets.apiKey,
        STAFF_TOKEN_SECRET: brand.secrets.staffToken,
        RULES_BASE_URL: rulesUrl,
        DRAIN_PERIOD_MS: '0',
      };
      const gatewayUrl = await startService('push-gateway', gatewayEnv, gatewayPort);
      const page = await fetch(`${gatewayUrl}/backoffice/`);
      assert.equal(page.status, 200, 'push-gateway: back office page');
      assert.match(await page.text(), /<html/i);

      const codes = await Promise.all(running.splice(0).map((service) => service.stop()));
      assert.deepEqual(codes, [0, 0, 0], 'wallet, rules and gateway exit 0 on SIGTERM');
      const gateway = target(report, 'push-gateway');
      assert.equal(await runHealthcheck(gateway, runRoots.get('push-gateway') as string, gatewayEnv), 1, 'HEALTHCHECK fails once the gateway is gone');
    });
  });

  describe('operator', () => {
    let harness: Harness;

    before(async () => {
      harness = await startHarness();
    });

    after(async () => {
      await harness?.stop();
    });

    it('operator becomes ready against kube-apiserver', async () => {
      // The image user must read these, and the harness keeps its own copies in a private directory.
      const kubeconfig = path.join(workDir, 'kubeconfig.json');
      harness.writeKubeconfig(kubeconfig);
      chmodSync(kubeconfig, 0o644);
      const profiles = path.join(workDir, 'infrastructure.yaml');
      copyFileSync(harness.profilesFile, profiles);
      chmodSync(profiles, 0o644);

      const port = await findFreePort();
      const env = {
        KUBECONFIG: kubeconfig,
        OPERATOR_NAMESPACE,
        OPERATOR_IDENTITY: 'image-test',
        OPERATOR_INFRASTRUCTURE_FILE: profiles,
        OPERATOR_HTTP_HOST: '127.0.0.1',
        OPERATOR_HTTP_PORT: String(port),
      };
      const stage = target(report, 'operator');
      const root = copyLayoutForRun(roots.get('operator') as string, workDir);
      const operator = startEntrypoint(stage, root, env);
      try {
        await waitUntilReady(`http://127.0.0.1:${port}/readyz`, operator);
        assertRunsAsImageUser('operator', stage, operator.child.pid);
        assert.equal(await runHealthcheck(stage, root, env), 0, 'operator: HEALTHCHECK against the running operator');
      } finally {
        assert.equal(await operator.stop(), 0, `operator exits 0 on SIGTERM:\n${operator.output()}`);
      }
    });
  });
});
