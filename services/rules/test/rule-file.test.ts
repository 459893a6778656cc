import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { compileRuleFile, parseDuration, RuleFileError } from '../src/rules/load.js';
import { ruleFileJsonSchema } from '../src/rules/schema.js';
import { TEST_RULES } from './support/rules-fixture.js';

function problemsOf(text: string): { path: string; message: string }[] {
  try {
    compileRuleFile(text, 'rules.yaml', 'brand-a');
  } catch (error) {
    assert.ok(error instanceof RuleFileError, String(error));
    return error.problems;
  }
  assert.fail('the file was accepted');
}

const ruleWith = (fields: string): string => `rules:\n  - id: r1\n    severity: low\n    actions: [prompt]\n    message: hi\n${fields}`;

test('committed JSON Schema is current', async () => {
  const committed = await readFile(new URL('../schema/rules.schema.json', import.meta.url), 'utf8');
  assert.equal(committed, ruleFileJsonSchema(), 'run `npm run schema -w services/rules` and commit schema/rules.schema.json');
});

test('README example compiles', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const example = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(example !== undefined, 'README has a yaml example');
  const rules = compileRuleFile(example, 'README.md', 'brand-a');
  assert.equal(rules.version, '2025-03-01.1');
  assert.deepEqual(
    new Set(rules.rules.map((compiled) => compiled.kind)),
    new Set(['windowed_sum', 'windowed_count', 'session_length', 'structuring', 'bonus_escalation', 'single_transaction']),
  );
});

test('test fixture compiles with a hash version', () => {
  const rules = compileRuleFile(TEST_RULES.replace('version: test-1\n', ''), 'rules.yaml', 'brand-a');
  assert.match(rules.version, /^sha256:[0-9a-f]{12}$/);
  assert.equal(rules.rules.length, 7);
});

test('JSON rule file is accepted', () => {
  const json = JSON.stringify({
    rules: [{ id: 'j', kind: 'single_transaction', measure: 'deposits', thresholds: { '*': { amountMinor: 5 } }, severity: 'low', actions: ['flag'], message: 'm' }],
  });
  assert.equal(compileRuleFile(json, 'rules.json', 'brand-a').rules.length, 1);
});

test('durations parse with units', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('90s'), 90_000);
  assert.equal(parseDuration('30m'), 1_800_000);
  assert.equal(parseDuration('24h'), 86_400_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  assert.equal(parseDuration('1.5h'), undefined);
  assert.equal(parseDuration('h'), undefined);
});

test('invalid files report path and message', () => {
  const cases: { name: string; text: string; path: string; message: RegExp }[] = [
    { name: 'syntax', text: 'rules: [\n', path: '/', message: /syntax error/ },
    { name: 'unknown top-level field', text: 'rules: []\nextra: 1\n', path: '/extra', message: /Unexpected property/ },
    { name: 'unknown kind', text: ruleWith('    kind: velocity\n'), path: '/rules/0/kind', message: /unknown rule kind "velocity"/ },
    {
      name: 'bad measure',
      text: ruleWith('    kind: windowed_sum\n    measure: jackpots\n    window: 1h\n    thresholds: { EUR: { sumMinor: 1 } }\n'),
      path: '/rules/0/measure',
      message: /jackpots/,
    },
    {
      name: 'bad duration',
      text: ruleWith('    kind: windowed_sum\n    measure: deposits\n    window: 1 day\n    thresholds: { EUR: { sumMinor: 1 } }\n'),
      path: '/rules/0/window',
      message: /match .*got "1 day"/,
    },
    {
      name: 'zero window',
      text: ruleWith('    kind: windowed_sum\n    measure: deposits\n    window: 0h\n    thresholds: { EUR: { sumMinor: 1 } }\n'),
      path: '/rules/0/window',
      message: /more than 0/,
    },
    {
      name: 'bad currency key',
      text: ruleWith('    kind: windowed_sum\n    measure: deposits\n    window: 1h\n    thresholds: { eur: { sumMinor: 1 } }\n'),
      path: '/rules/0/thresholds/eur',
      message: /Unexpected property/,
    },
    {
      name: 'negative threshold',
      text: ruleWith('    kind: windowed_sum\n    measure: deposits\n    window: 1h\n    thresholds: { EUR: { sumMinor: -5 } }\n'),
      path: '/rules/0/thresholds/EUR/sumMinor',
      message: /-5/,
    },
    {
      name: 'band not under the threshold',
      text: ruleWith(
        '    kind: structuring\n    measure: deposits\n    window: 1h\n    thresholds: { EUR: { reportingMinor: 100, bandMinor: 100, count: 2 } }\n',
      ),
      path: '/rules/0/thresholds/EUR/bandMinor',
      message: /less than reportingMinor/,
    },
    {
      name: 'levels not ascending',
      text: ruleWith('    kind: bonus_escalation\n    window: 1h\n    thresholds: { EUR: { levelsMinor: [5, 3], levelsCrossed: 2 } }\n'),
      path: '/rules/0/thresholds/EUR/levelsMinor',
      message: /ascending/,
    },
    {
      name: 'net loss cannot be counted',
      text: ruleWith('    kind: windowed_count\n    measure: net_loss\n    window: 1h\n    thresholds: { EUR: { count: 2 } }\n'),
      path: '/rules/0/measure',
      message: /net_loss/,
    },
    { name: 'other brand', text: 'brand: brand-b\nrules: []\n', path: '/brand', message: /brand-b/ },
    {
      name: 'unknown severity lists the choices',
      text: 'rules:\n  - id: a\n    kind: single_transaction\n    measure: deposits\n    thresholds: { EUR: { amountMinor: 1 } }\n    severity: critical\n    actions: [prompt]\n    message: m\n',
      path: '/rules/0/severity',
      message: /expected one of "low", "medium", "high", got "critical"/,
    },
  ];
  for (const testCase of cases) {
    const problems = problemsOf(testCase.text);
    const match = problems.find((problem) => problem.path === testCase.path);
    assert.ok(match !== undefined, `${testCase.name}: expected a problem at ${testCase.path}, got ${JSON.stringify(problems)}`);
    assert.match(match.message, testCase.message, testCase.name);
  }
});

test('duplicate rule ids are rejected', () => {
  const one = '  - { id: dup, kind: single_transaction, measure: deposits, thresholds: { EUR: { amountMinor: 1 } }, severity: low, actions: [flag], message: m }\n';
  const problems = problemsOf(`rules:\n${one}${one}`);
  assert.deepEqual(problems, [{ path: '/rules/1/id', message: 'duplicate rule id dup; /rules/0 has it too' }]);
});
