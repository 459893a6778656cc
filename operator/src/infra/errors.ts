import type { Provisioner } from './types.js';

export type InfrastructurePart = Provisioner<unknown>['part'];

/**
 * Failure of a provisioner call against a shared cluster. The reconciler
 * copies `code` into the reason of the part's condition and requeues the
 * Tenant when `retryable` is true. Messages name the failed call and never
 * contain a password.
 *
 * Codes in use: OPERATOR_RABBITMQ_UNREACHABLE, OPERATOR_RABBITMQ_REQUEST_FAILED,
 * OPERATOR_REDIS_UNREACHABLE, OPERATOR_REDIS_COMMAND_FAILED,
 * OPERATOR_POSTGRES_UNREACHABLE and OPERATOR_POSTGRES_FAILED.
 */
export class InfrastructureError extends Error {
  constructor(
    readonly code: string,
    readonly part: InfrastructurePart,
    readonly retryable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InfrastructureError';
  }
}
