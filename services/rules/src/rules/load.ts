import { createHash } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { Type, type TSchema } from '@sinclair/typebox';
import { parseDocument } from 'yaml';
import type { InterventionAction, RuleKind, Severity } from '@croupier/shared/contracts';
import { RULE_SCHEMAS, type Measure, type RuleDefinition } from './schema.js';

/** One problem in a rule file: a JSON Pointer into the document and what is wrong there. */
export interface RuleFileProblem {
  path: string;
  message: string;
}

export class RuleFileError extends Error {
  readonly code = 'RULES_ERR_RULE_FILE_INVALID';
  constructor(
    readonly file: string,
    readonly problems: RuleFileProblem[],
  ) {
    super(`rule file ${file} is invalid:\n  ${problems.map((problem) => `${problem.path}: ${problem.message}`).join('\n  ')}`);
    this.name = 'RuleFileError';
  }
}

interface CompiledRuleCommon {
  id: string;
  severity: Severity;
  actions: InterventionAction[];
  message: string;
  /** Undefined when the rule sets no cooldown. */
  cooldownMs: number | undefined;
}

/** A threshold object of one currency, with every value a number as InterventionTriggered carries it. */
export type ThresholdValues = Record<string, number>;

export interface WindowedRule extends CompiledRuleCommon {
  kind: Exclude<RuleKind, 'session_length' | 'single_transaction'>;
  measure: Measure;
  windowMs: number;
  thresholds: ReadonlyMap<string, ThresholdValues>;
}

export interface SessionRule extends CompiledRuleCommon {
  kind: 'session_length';
  idleGapMs: number;
  thresholds: ReadonlyMap<string, ThresholdValues>;
}

export interface SingleTransactionRule extends CompiledRuleCommon {
  kind: 'single_transaction';
  measure: Measure;
  thresholds: ReadonlyMap<string, ThresholdValues>;
}

export type CompiledRule = WindowedRule | SessionRule | SingleTransactionRule;

export interface RuleSet {
  version: string;
  /** sha256 of the file content, so a reload of unchanged content is skipped. */
  contentHash: string;
  rules: readonly CompiledRule[];
  loadedAt: Date;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Maximum window, idle gap or cooldown of a rule; entries stay in Redis for up to that long. */
export const MAX_DURATION_MS = 400 * 86_400_000;

/** Parses a duration such as "24h" into milliseconds; returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^([0-9]+)(ms|s|m|h|d)$/.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number);
}

/** Returns the thresholds of `currency`, falling back to `*`; undefined when the rule does not check that currency. */
export function thresholdsFor(rule: CompiledRule, currency: string): ThresholdValues | undefined {
  return rule.thresholds.get(currency) ?? rule.thresholds.get('*');
}

const FileShape = Type.Object(
  {
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    brand: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
    rules: Type.Array(Type.Unknown(), { maxItems: 500 }),
  },
  { additionalProperties: false },
);

/**
 * Parses and validates a rule file's text (YAML, or JSON, which YAML reads as
 * well). Throws RuleFileError listing every problem with its JSON Pointer.
 */
export function compileRuleFile(text: string, file: string, brand: string, loadedAt = new Date()): RuleSet {
  const contentHash = createHash('sha256').update(text).digest('hex');
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new RuleFileError(
      file,
      document.errors.map((error) => ({ path: '/', message: `syntax error: ${error.message.split('\n')[0] ?? error.message}` })),
    );
  }
  const value: unknown = document.toJS();

  const problems: RuleFileProblem[] = [];
  for (const error of Value.Errors(FileShape, value)) {
    problems.push({ path: error.path || '/', message: error.message });
  }
  if (problems.length > 0) throw new RuleFileError(file, problems);

  const shape = value as { version?: string; brand?: string; rules: unknown[] };
  if (shape.brand !== undefined && shape.brand !== brand) {
    problems.push({ path: '/brand', message: `file is for brand ${shape.brand}, but this service runs brand ${brand}` });
  }

  const rules: CompiledRule[] = [];
  const seenIds = new Map<string, number>();
  shape.rules.forEach((candidate, index) => {
    const rule = validateRule(candidate, `/rules/${index}`, problems);
    if (rule === undefined) return;
    const earlier = seenIds.get(rule.id);
    if (earlier !== undefined) {
      problems.push({ path: `/rules/${index}/id`, message: `duplicate rule id ${rule.id}; /rules/${earlier} has it too` });
      return;
    }
    seenIds.set(rule.id, index);
    const compiled = compileRule(rule, `/rules/${index}`, problems);
    if (compiled !== undefined && rule.enabled !== false) rules.push(compiled);
  });

  if (problems.length > 0) throw new RuleFileError(file, problems);
  return { version: shape.version ?? `sha256:${contentHash.slice(0, 12)}`, contentHash, rules, loadedAt };
}

/** Checks one rule against the schema of its kind, so errors name the fields of that kind. */
function validateRule(candidate: unknown, path: string, problems: RuleFileProblem[]): RuleDefinition | undefined {
  if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
    problems.push({ path, message: 'expected a rule object' });
    return undefined;
  }
  const kind = (candidate as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(kind in RULE_SCHEMAS)) {
    problems.push({
      path: `${path}/kind`,
      message: `unknown rule kind ${JSON.stringify(kind)}; expected one of ${Object.keys(RULE_SCHEMAS).join(', ')}`,
    });
    return undefined;
  }
  const schema = RULE_SCHEMAS[kind as keyof typeof RULE_SCHEMAS];
  const before = problems.length;
  for (const error of Value.Errors(schema, candidate)) {
    problems.push({ path: `${path}${error.path}`, message: describeError(allowedValues(error.schema) ?? error.message, error.value) });
  }
  return problems.length === before ? (candidate as RuleDefinition) : undefined;
}

/** Names the choices of a union of literals, such as severity, where TypeBox reports only "Expected union value". */
function allowedValues(schema: TSchema): string | undefined {
  const variants = (schema as { anyOf?: TSchema[] }).anyOf;
  if (variants === undefined || variants.length === 0) return undefined;
  const literals = variants.map((variant) => (variant as { const?: unknown }).const);
  if (literals.some((literal) => literal === undefined)) return undefined;
  return `expected one of ${literals.map((literal) => JSON.stringify(literal)).join(', ')}`;
}

function describeError(message: string, value: unknown): string {
  return value === undefined ? message : `${message}, got ${JSON.stringify(value)}`;
}

function compileRule(rule: RuleDefinition, path: string, problems: RuleFileProblem[]): CompiledRule | undefined {
  const before = problems.length;
  const duration = (field: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const ms = parseDuration(text) ?? 0;
    if (ms <= 0 || ms > MAX_DURATION_MS) {
      problems.push({ path: `${path}/${field}`, message: `must be more than 0 and at most 400d, got ${JSON.stringify(text)}` });
    }
    return ms;
  };
  const common: CompiledRuleCommon = {
    id: rule.id,
    severity: rule.severity,
    actions: [...rule.actions],
    message: rule.message,
    cooldownMs: rule.cooldown === undefined ? undefined : parseDuration(rule.cooldown),
  };
  const thresholds = new Map<string, ThresholdValues>();

  switch (rule.kind) {
    case 'windowed_sum':
    case 'windowed_count':
      for (const [currency, values] of Object.entries(rule.thresholds)) thresholds.set(currency, { ...values });
      return finish({ ...common, kind: rule.kind, measure: rule.measure as Measure, windowMs: duration('window', rule.window) ?? 0, thresholds });

    case 'structuring':
      for (const [currency, values] of Object.entries(rule.thresholds)) {
        if (values.bandMinor >= values.reportingMinor) {
          problems.push({
            path: `${path}/thresholds/${currency}/bandMinor`,
            message: `must be less than reportingMinor (${values.reportingMinor}), got ${values.bandMinor}`,
          });
        }
        thresholds.set(currency, { ...values });
      }
      return finish({ ...common, kind: 'structuring', measure: rule.measure as Measure, windowMs: duration('window', rule.window) ?? 0, thresholds });

    case 'bonus_escalation':
      for (const [currency, values] of Object.entries(rule.thresholds)) {
        const levels = values.levelsMinor;
        if (levels.some((level, index) => index > 0 && level <= (levels[index - 1] as number))) {
          problems.push({ path: `${path}/thresholds/${currency}/levelsMinor`, message: `must be strictly ascending, got ${JSON.stringify(levels)}` });
        }
        if (values.levelsCrossed > levels.length) {
          problems.push({
            path: `${path}/thresholds/${currency}/levelsCrossed`,
            message: `must be at most the number of levels (${levels.length}), got ${values.levelsCrossed}`,
          });
        }
        const flat: ThresholdValues = { levelsCrossed: values.levelsCrossed };
        levels.forEach((level, index) => {
          flat[`level${index + 1}Minor`] = level;
        });
        thresholds.set(currency, flat);
      }
      return finish({
        ...common,
        kind: 'bonus_escalation',
        measure: 'bonus_credits',
        windowMs: duration('window', rule.window) ?? 0,
        thresholds,
      });

    case 'session_length':
      for (const [currency, values] of Object.entries(rule.thresholds)) thresholds.set(currency, { ...values });
      return finish({ ...common, kind: 'session_length', idleGapMs: duration('idleGap', rule.idleGap) ?? 0, thresholds });

    case 'single_transaction':
      for (const [currency, values] of Object.entries(rule.thresholds)) thresholds.set(currency, { ...values });
      return finish({ ...common, kind: 'single_transaction', measure: rule.measure as Measure, thresholds });
  }

  function finish(compiled: CompiledRule): CompiledRule | undefined {
    if (rule.cooldown !== undefined) duration('cooldown', rule.cooldown);
    return problems.length === before ? compiled : undefined;
  }
}
