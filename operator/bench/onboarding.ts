/**
 * Operator benchmark: onboarding time for batches of 1, 50 and 200 Tenants
 * (apply to Ready, with RabbitMQ, Redis and PostgreSQL provisioned), API
 * requests during one idle minute once everything settled, and the
 * operator's memory. Runs the real operator entrypoint as a child process
 * against the test kube-apiserver and the infrastructure of scripts/infra.sh,
 * then writes its section of docs/benchmarks.md.
 *
 * There is no kube-controller-manager: a stand-in in this process watches
 * Deployments and marks each one available as soon as the operator writes it,
 * so "Ready" measures the operator and the provisioning, not pod start-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, upsertMarkedSection } from '@croupier/shared';
import { findFreePort, waitFor } from '@croupier/shared/testing';
import type { Tenant } from '../src/api/tenant.js';
import { KubeClient, type KubeObject } from '../src/kube/client.js';
import { Informer } from '../src/kube/informer.js';
import { collectionPath } from '../src/kube/resources.js';
import { startDeploymentStandIn } from '../test/support/deployment-stand-in.js';
import { OPERATOR_NAMESPACE, startHarness, tenantManifest, type Harness } from '../test/support/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RESULTS_FILE = path.join(ROOT, 'docs', 'benchmark-results-operator.json');
const BATCHES = (process.env.OPERATOR_BENCH_BATCHES ?? '1,50,200').split(',').map(Number);
const IDLE_SECONDS = Number(process.env.OPERATOR_BENCH_IDLE_SECONDS ?? 60);
const RESYNC_SECONDS = 30;
const WORKERS = 8;
const APPLY_CONCURRENCY = 20;
/** Informers of the operator: Tenants, nine owned kinds and the rules-source ConfigMaps. */
const WATCHES = 11;

interface BatchResult {
  tenants: number;
  allReadySeconds: number;
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

interface IdleResult {
  seconds: number;
  resyncsInWindow: number;
  requestsByVerb: Record<string, number>;
  writesExceptLease: number;
  leaseWrites: number;
}

interface Report {
  date: string;
  command: string;
  machine: string;
  workers: number;
  resyncSeconds: number;
  batches: BatchResult[];
  idle: IdleResult;
  memory: { tenants: number; rssMiB: number; heapUsedMiB: number };
}

const log = (message: string): void => console.log(`[operator-bench] ${message}`);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

function sumMatching(values: Map<string, number>, predicate: (series: string) => boolean): number {
  let total = 0;
  for (const [series, value] of values) if (predicate(series)) total += value;
  return total;
}

function startOperatorProcess(harness: Harness, stateDir: string, httpPort: number): ChildProcess {
  const kubeconfig = path.join(stateDir, 'kubeconfig.json');
  harness.writeKubeconfig(kubeconfig);
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path.join(ROOT, 'operator/src/main.ts')], {
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      OPERATOR_NAMESPACE,
      OPERATOR_IDENTITY: 'bench-operator',
      OPERATOR_INFRASTRUCTURE_FILE: harness.profilesFile,
      OPERATOR_HTTP_HOST: '127.0.0.1',
      OPERATOR_HTTP_PORT: String(httpPort),
      OPERATOR_WORKERS: String(WORKERS),
      OPERATOR_RESYNC_SECONDS: String(RESYNC_SECONDS),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

/** Rewrites the operator section of docs/benchmarks.md from the last results, without measuring. */
function renderOnly(): void {
  const report = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as Report;
  const benchmarks = path.join(ROOT, 'docs', 'benchmarks.md');
  writeFileSync(benchmarks, upsertMarkedSection(readFileSync(benchmarks, 'utf8'), 'operator', renderReport(report)));
  log(`rewrote the operator section of docs/benchmarks.md from ${path.relative(ROOT, RESULTS_FILE)}`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--render-only')) return renderOnly();
  const harness = await startHarness();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'croupier-operator-bench-'));
  const stop = new AbortController();
  const client = new KubeClient(harness.kubeConfig);
  const httpPort = await findFreePort();
  const operatorUrl = `http://127.0.0.1:${httpPort}`;
  const operator = startOperatorProcess(harness, stateDir, httpPort);
  const created: string[] = [];
  try {
    startDeploymentStandIn(client, stop.signal, createLogger({ service: 'operator-bench', level: 'warn' }));
    await waitFor(async () => (await fetch(`${operatorUrl}/readyz`).catch(() => undefined))?.status === 200, 'the operator to be ready', 60_000);

    // Ready times come from a watch on Tenants, not from polling.
    const readyAt = new Map<string, number>();
    const tenants = new Informer<KubeObject>(client, { name: 'tenants', collectionPath: collectionPath('Tenant') }, createLogger({ service: 'operator-bench', level: 'warn' }));
    tenants.onEvent((_event, object) => {
      const tenant = object as unknown as Tenant;
      const ready = tenant.status?.conditions?.find((condition) => condition.type === 'Ready');
      if (ready?.status === 'True' && ready.observedGeneration === tenant.metadata.generation && !readyAt.has(tenant.metadata.name)) {
        readyAt.set(tenant.metadata.name, performance.now());
      }
    });
    void tenants.run(stop.signal);
    await tenants.waitForSync();

    const batches: BatchResult[] = [];
    for (const [index, size] of BATCHES.entries()) {
      const names = Array.from({ length: size }, (_, n) => `bench-${index}-${n}-${Math.random().toString(16).slice(2, 8)}`);
      const appliedAt = new Map<string, number>();
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(APPLY_CONCURRENCY, size) }, async () => {
          while (next < names.length) {
            const name = names[next++]!;
            appliedAt.set(name, performance.now());
            await harness.api('POST', '/apis/platform.croupier.dev/v1alpha1/tenants', tenantManifest(name, { deletionPolicy: 'Delete' }));
            created.push(name);
          }
        }),
      );
      await waitFor(() => names.every((name) => readyAt.has(name)), `${size} Tenants to be Ready`, 10 * 60_000);
      const latencies = names.map((name) => (readyAt.get(name)! - appliedAt.get(name)!) / 1000).sort((a, b) => a - b);
      const allReadySeconds = (Math.max(...names.map((name) => readyAt.get(name)!)) - started) / 1000;
      const result = { tenants: size, allReadySeconds, p50Seconds: quantile(latencies, 0.5), p99Seconds: quantile(latencies, 0.99), maxSeconds: latencies.at(-1)! };
      batches.push(result);
      log(`${size} Tenants: all Ready after ${allReadySeconds.toFixed(2)} s (per Tenant p50 ${result.p50Seconds.toFixed(2)} s, p99 ${result.p99Seconds.toFixed(2)} s)`);
    }

    log(`settling, then counting API requests for ${IDLE_SECONDS} s with nothing changing`);
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    const before = await scrape(operatorUrl);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    const after = await scrape(operatorUrl);
    const requestsByVerb: Record<string, number> = {};
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']) {
      const match = (series: string): boolean => series.startsWith('croupier_operator_kube_requests_total{') && series.includes(`verb="${verb}"`);
      const count = sumMatching(after, match) - sumMatching(before, match);
      if (count > 0) requestsByVerb[verb] = count;
    }
    const isWrite = (series: string): boolean =>
      series.startsWith('croupier_operator_kube_requests_total{') && /verb="(create|update|patch|delete)"/.test(series);
    const leaseWrites = sumMatching(after, (series) => isWrite(series) && series.includes('resource="leases"')) - sumMatching(before, (series) => isWrite(series) && series.includes('resource="leases"'));
    const writesExceptLease = sumMatching(after, (series) => isWrite(series) && !series.includes('resource="leases"')) - sumMatching(before, (series) => isWrite(series) && !series.includes('resource="leases"'));
    const reconcilesInWindow = sumMatching(after, (series) => series.startsWith('croupier_operator_reconciles_total')) - sumMatching(before, (series) => series.startsWith('croupier_operator_reconciles_total'));
    const idle: IdleResult = {
      seconds: IDLE_SECONDS,
      resyncsInWindow: Math.round(reconcilesInWindow / created.length),
      requestsByVerb,
      writesExceptLease,
      leaseWrites,
    };
    log(`idle: ${JSON.stringify(idle)}`);
    const rss = sumMatching(after, (series) => series.startsWith('process_resident_memory_bytes'));
    const heap = sumMatching(after, (series) => series.startsWith('nodejs_heap_size_used_bytes'));
    const memory = { tenants: created.length, rssMiB: rss / 2 ** 20, heapUsedMiB: heap / 2 ** 20 };
    log(`memory with ${created.length} Tenants: RSS ${memory.rssMiB.toFixed(1)} MiB, heap used ${memory.heapUsedMiB.toFixed(1)} MiB`);

    const report: Report = {
      date: new Date().toISOString().slice(0, 10),
      command: 'make bench-operator',
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      workers: WORKERS,
      resyncSeconds: RESYNC_SECONDS,
      batches,
      idle,
      memory,
    };
    writeFileSync(RESULTS_FILE, `${JSON.stringify(report, null, 2)}\n`);
    const benchmarks = path.join(ROOT, 'docs', 'benchmarks.md');
    const existing = existsSync(benchmarks) ? readFileSync(benchmarks, 'utf8') : '# Benchmarks\n';
    writeFileSync(benchmarks, upsertMarkedSection(existing, 'operator', renderReport(report)));
    log('wrote the operator section of docs/benchmarks.md and docs/benchmark-results-operator.json');
  } finally {
    log(`deleting the ${created.length} benchmark Tenants (deletion policy Delete)`);
    await Promise.all(created.map((name) => harness.api('DELETE', `/apis/platform.croupier.dev/v1alpha1/tenants/${name}`).catch(() => undefined)));
    await waitFor(async () => (await harness.api<{ items: unknown[] }>('GET', '/apis/platform.croupier.dev/v1alpha1/tenants')).items.length === 0, 'the benchmark Tenants to be gone', 10 * 60_000).catch((error: unknown) => log(String(error)));
    operator.kill('SIGTERM');
    await new Promise((resolve) => operator.once('exit', resolve));
    stop.abort();
    client.close();
    await harness.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function renderReport(report: Report): string {
  const rows = report.batches
    .map((batch) => `| ${batch.tenants} | ${batch.allReadySeconds.toFixed(2)} s | ${batch.p50Seconds.toFixed(2)} s | ${batch.p99Seconds.toFixed(2)} s | ${batch.maxSeconds.toFixed(2)} s |`)
    .join('\n');
  const verbs = Object.entries(report.idle.requestsByVerb).map(([verb, count]) => `${verb} ${count}`).join(', ') || 'none';
  return `## Operator: onboarding, idle load and memory

Measured on ${report.date} with \`${report.command}\` on ${report.machine}. The
operator runs as its own process (\`operator/src/main.ts\`, ${report.workers}
workers, resync every ${report.resyncSeconds} s) against the test kube-apiserver
and etcd built from \`operator/testenv\`, and the PostgreSQL, RabbitMQ and Redis
of \`scripts/infra.sh\`, all on this one machine. Each batch is applied 20 at a
time after the previous batch is Ready. "Ready" means the database, roles,
vhost, users, permissions, policies and Redis ACL users are provisioned and
every Kubernetes object is written; there is no controller-manager, so a
stand-in in the benchmark marks each Deployment available the moment the
operator writes it.

| Tenants in the batch | all Ready after | per Tenant p50 | per Tenant p99 | per Tenant max |
| ---: | ---: | ---: | ---: | ---: |
${rows}

Targets: one Tenant Ready within 2 s of apply; 200 within 2 minutes.

**Idle minute**, with ${report.memory.tenants} Tenants settled: over ${report.idle.seconds} s the
operator made these API requests: ${verbs}. Writes other than the leader
Lease: **${report.idle.writesExceptLease}** (target: none). Lease renewals:
${report.idle.leaseWrites}. Every Tenant was reconciled about
${report.idle.resyncsInWindow} times in that minute by the periodic resync, which reads
RabbitMQ, Redis and PostgreSQL but finds nothing to change. Each of the
operator's ${WATCHES} watches is reopened after a random server-side timeout of 5 to 10
minutes, which adds about ${(WATCHES / 7.5).toFixed(1)} watch requests per minute on average; ${report.idle.requestsByVerb.watch ?? 'none'} fell
inside this window.

**Memory** with ${report.memory.tenants} Tenants: resident set ${report.memory.rssMiB.toFixed(1)} MiB, V8 heap used
${report.memory.heapUsedMiB.toFixed(1)} MiB (\`process_resident_memory_bytes\` and
\`nodejs_heap_size_used_bytes\` from the operator's \`/metrics\`).
`;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
