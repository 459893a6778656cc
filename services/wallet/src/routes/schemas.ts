import { Type } from '@fastify/type-provider-typebox';

/** Identifiers from providers and licensees: printable ASCII without spaces. */
export const ExternalId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7E]+$' });
export const PlayerId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@-]+$' });
export const ProviderName = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9][a-z0-9_-]*$' });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, equal to the player currency' });
export const DecimalAmount = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Positive decimal string in major units, for example "12.50"; at most the currency decimal places',
  examples: ['12.50'],
});
export const DecimalBalance = Type.String({ description: 'Decimal string with exactly the currency decimal places' });

/** Header of the licensee API; optional in the schema so that a missing key gets WALLET_ERR_API_KEY_MISSING. */
export const ApiKeyHeaders = Type.Object({ 'x-api-key': Type.Optional(Type.String()) });

export const PlayerStatus = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('closed')]);
export const KycStatus = Type.Union([
  Type.Literal('unverified'),
  Type.Literal('pending'),
  Type.Literal('verified'),
  Type.Literal('rejected'),
]);

export const ErrorResponse = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: 'Stable WALLET_ERR_* code' }),
        message: Type.String(),
      },
      { additionalProperties: true, description: 'Code, message and details such as the current balance' },
    ),
  },
  { $id: 'WalletError' },
);

const errorRef = Type.Ref('WalletError');

/** Error responses every route may return, merged into each route's response schema. */
export function errorResponses(...statusCodes: number[]): Record<number, typeof errorRef> {
  return Object.fromEntries([400, 500, 503, ...statusCodes].map((statusCode) => [statusCode, errorRef]));
}

/** Body of every money operation; replays return it byte for byte. */
export function transactionResponse(referenceName: string, referenceDescription: string) {
  return Type.Object({
    transactionId: Type.String({ format: 'uuid', description: 'Wallet transaction id' }),
    [referenceName]: Type.String({ description: referenceDescription }),
    playerId: Type.String(),
    currency: Type.String(),
    balance: DecimalBalance,
    cash: DecimalBalance,
    bonus: DecimalBalance,
    balanceVersion: Type.Integer({ description: 'Player balance version after this transaction' }),
  });
}

export const ProviderTransactionResponse = transactionResponse(
  'providerTransactionId',
  'The transactionId of the request',
);
