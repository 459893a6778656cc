import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { FormatRegistry, type TSchema } from '@sinclair/typebox';
import {
  CURRENT_SCHEMA_VERSION,
  EVENT_DATA_SCHEMAS,
  EventEnvelopeBase,
  type EventEnvelope,
} from './events.js';

export class EventValidationError extends Error {
  constructor(
    readonly code: 'EVENT_MALFORMED' | 'EVENT_TYPE_UNKNOWN' | 'EVENT_SCHEMA_VERSION_UNSUPPORTED',
    message: string,
  ) {
    super(message);
    this.name = 'EventValidationError';
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

// TypeBox rejects values of formats it has no checker for, so register the two the envelope uses.
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (value) => UUID_PATTERN.test(value));
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (value) => DATE_TIME_PATTERN.test(value) && !Number.isNaN(Date.parse(value)));
}

const envelopeCheck = TypeCompiler.Compile(EventEnvelopeBase);
const dataChecks = new Map<string, TypeCheck<TSchema>>(
  Object.entries(EVENT_DATA_SCHEMAS).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
);

function describeFirstError(check: TypeCheck<TSchema>, value: unknown): string {
  const first = check.Errors(value).First();
  return first === undefined ? 'unknown reason' : `${first.path || '/'} ${first.message}`;
}

/**
 * Parses and validates an event received from the bus. Throws
 * EventValidationError with the offending field, so the consumer can
 * dead-letter the message instead of crashing on it.
 */
export function parseEvent(body: Buffer | string): EventEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (error) {
    throw new EventValidationError('EVENT_MALFORMED', `event body is not JSON: ${(error as Error).message}`);
  }

  if (!envelopeCheck.Check(value)) {
    throw new EventValidationError('EVENT_MALFORMED', `event envelope is invalid: ${describeFirstError(envelopeCheck, value)}`);
  }

  const dataCheck = dataChecks.get(value.type);
  if (dataCheck === undefined) {
    throw new EventValidationError('EVENT_TYPE_UNKNOWN', `event type ${JSON.stringify(value.type)} is unknown`);
  }
  if (value.schemaVersion !== CURRENT_SCHEMA_VERSION) {
    throw new EventValidationError(
      'EVENT_SCHEMA_VERSION_UNSUPPORTED',
      `event ${value.id} of type ${value.type} has schema version ${value.schemaVersion}, expected ${CURRENT_SCHEMA_VERSION}`,
    );
  }

  const data = (value as { data?: unknown }).data;
  if (!dataCheck.Check(data)) {
    throw new EventValidationError(
      'EVENT_MALFORMED',
      `event ${value.id} of type ${value.type} has invalid data: ${describeFirstError(dataCheck, data)}`,
    );
  }
  return value as unknown as EventEnvelope;
}
