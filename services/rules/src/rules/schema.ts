import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Schema of a brand's rule file (YAML or JSON). `schema/rules.schema.json` is
 * generated from these definitions by `npm run schema -w services/rules`, and
 * a test fails when the committed file differs.
 */

const Duration = Type.String({
  pattern: '^[0-9]+(ms|s|m|h|d)$',
  description: 'Length of time: an integer and a unit, ms, s, m, h or d ("30m", "24h", "7d")',
  examples: ['24h'],
});

const AmountMinor = Type.Integer({ minimum: 1, description: 'Amount in the currency minor unit (cents for EUR)' });

/** Keys of a thresholds map: an ISO 4217 code, or `*` for every currency not listed. */
const CURRENCY_KEY_PATTERN = '^([A-Z]{3}|\\*)$';

function perCurrency<T extends TSchema>(threshold: T) {
  // additionalProperties: false rejects keys outside the pattern, such as `eur`.
  return Type.Record(Type.String({ pattern: CURRENCY_KEY_PATTERN }), threshold, {
    additionalProperties: false,
    minProperties: 1,
    description: 'Thresholds by currency code; `*` applies to currencies not listed. A currency with no entry is not checked.',
  });
}

export const SUM_MEASURES = ['deposits', 'withdrawals', 'stakes', 'wins', 'net_loss', 'bonus_credits'] as const;
export const COUNT_MEASURES = ['deposits', 'withdrawals', 'stakes', 'wins', 'bonus_credits'] as const;
export const STRUCTURING_MEASURES = ['deposits', 'withdrawals'] as const;
export type Measure = (typeof SUM_MEASURES)[number];

const literals = <T extends readonly string[]>(values: T, description: string) =>
  Type.Union(values.map((value) => Type.Literal(value)), { description });

const RuleCommon = {
  id: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'Stable rule id, unique in the file' }),
  description: Type.Optional(Type.String({ maxLength: 500 })),
  enabled: Type.Optional(Type.Boolean({ default: true, description: 'A disabled rule is validated but never evaluated' })),
  severity: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]),
  actions: Type.Array(Type.Union([Type.Literal('prompt'), Type.Literal('email'), Type.Literal('flag')]), {
    minItems: 1,
    uniqueItems: true,
    description: 'prompt: the push gateway shows `message` to the player; email: mail to the compliance mailbox; flag: open a compliance flag',
  }),
  message: Type.String({ minLength: 1, maxLength: 1000, description: 'Text for the player (prompt) and the email subject line' }),
  cooldown: Type.Optional(
    Type.String({
      ...Duration,
      description:
        'Minimum event time between two firings for one player and currency. Windowed rules never fire twice within one window, whatever this is',
    }),
  ),
};

export const WindowedSumRule = Type.Object(
  {
    ...RuleCommon,
    kind: Type.Literal('windowed_sum'),
    measure: literals(SUM_MEASURES, 'What is summed; net_loss is stakes minus wins minus rolled-back stakes'),
    window: Duration,
    thresholds: perCurrency(Type.Object({ sumMinor: AmountMinor }, { additionalProperties: false })),
  },
  { additionalProperties: false, description: 'Fires when the sum of a measure over the rolling window reaches sumMinor' },
);

export const WindowedCountRule = Type.Object(
  {
    ...RuleCommon,
    kind: Type.Literal('windowed_count'),
    measure: literals(COUNT_MEASURES, 'Which events are counted: deposits, withdrawal requests, bets, wins or bonus credits'),
    window: Duration,
    thresholds: perCurrency(Type.Object({ count: Type.Integer({ minimum: 1 }) }, { additionalProperties: false })),
  },
  { additionalProperties: false, description: 'Fires when the number of events over the rolling window reaches count' },
);

export const SessionLengthRule = Type.Object(
  {
    ...RuleCommon,
    kind: Type.Literal('session_length'),
    idleGap: Type.String({ ...Duration, description: 'A gap between two game events longer than this ends a session' }),
    thresholds: perCurrency(Type.Object({ sessionSeconds: Type.Integer({ minimum: 1 }) }, { additionalProperties: false })),
  },
  {
    additionalProperties: false,
    description:
      'Reality check: fires on the game event that makes a session reach sessionSeconds. Without a cooldown it fires once per session',
  },
);

export const StructuringRule = Type.Object(
  {
    ...RuleCommon,
    kind: Type.Literal('structuring'),
    measure: literals(STRUCTURING_MEASURES, 'deposits or withdrawals (withdrawal requests)'),
    window: Duration,
    thresholds: perCurrency(
      Type.Object(
        {
          reportingMinor: AmountMinor,
          bandMinor: AmountMinor,
          count: Type.Integer({ minimum: 2 }),
        },
        {
          additionalProperties: false,
          description: 'A transaction is in the band when reportingMinor - bandMinor <= amount < reportingMinor',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'Fires when count transactions in the band fall within the window' },
);

export const BonusEscalationRule = Type.Object(
  {
    ...RuleCommon,
    kind: Type.Literal('bonus_escalation'),
    window: Duration,
    thresholds: perCurrency(
      Type.Object(
        {
          levelsMinor: Type.Array(AmountMinor, { minItems: 2, maxItems: 10, description: 'Ascending bonus amount levels' }),
          levelsCrossed: Type.Integer({ minimum: 2, description: 'Escalation steps within the window that fire the rule' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Fires when bonus credits within the window step up through levelsCrossed levels: each credit that reaches a level above every earlier credit in the window is one step',
  },
);

export const SingleTransactionRule = Type.Object(
  {
    ...RuleCommon,
    kind: Type.Literal('single_transaction'),
    measure: literals(COUNT_MEASURES, 'Which transactions are checked'),
    thresholds: perCurrency(Type.Object({ amountMinor: AmountMinor }, { additionalProperties: false })),
  },
  { additionalProperties: false, description: 'Fires on one transaction of at least amountMinor' },
);

/** Rule schemas by `kind`; the loader picks one by kind so errors point into the right variant. */
export const RULE_SCHEMAS = {
  windowed_sum: WindowedSumRule,
  windowed_count: WindowedCountRule,
  session_length: SessionLengthRule,
  structuring: StructuringRule,
  bonus_escalation: BonusEscalationRule,
  single_transaction: SingleTransactionRule,
} as const;

export const RuleDefinition = Type.Union(Object.values(RULE_SCHEMAS));
export type RuleDefinition = Static<typeof RuleDefinition>;

export const RuleFile = Type.Object(
  {
    version: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: 'Label shown by GET /rules; defaults to a hash of the file' }),
    ),
    brand: Type.Optional(Type.String({ minLength: 1, maxLength: 63, description: 'When present, must equal the service BRAND' })),
    rules: Type.Array(RuleDefinition, { maxItems: 500 }),
  },
  {
    $id: 'https://croupier.dev/schemas/rules.schema.json',
    title: 'Croupier behaviour rules',
    additionalProperties: false,
  },
);
export type RuleFile = Static<typeof RuleFile>;

/** Returns the JSON Schema document published as schema/rules.schema.json. */
export function ruleFileJsonSchema(): string {
  return `${JSON.stringify({ $schema: 'https://json-schema.org/draft/2020-12/schema', ...RuleFile }, null, 2)}\n`;
}
