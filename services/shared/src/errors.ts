/**
 * Base class of every error a Croupier service reports to a client. The code
 * is stable and is what clients and providers map; the message is for humans.
 */
export class CroupierError extends Error {
  constructor(
    readonly code: string,
    readonly statusCode: number,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'CroupierError';
  }
}

export interface ErrorDefinition<Args extends unknown[]> {
  code: string;
  statusCode: number;
  message: (...args: Args) => string;
}

/**
 * Builds a registry of error factories from definitions, so call sites write
 * `errors.insufficientFunds(balance)` and never a bare Error with ad hoc text.
 */
export function defineErrors<D extends Record<string, ErrorDefinition<never[]>>>(
  definitions: D,
): { [K in keyof D]: (...args: Parameters<D[K]['message']>) => CroupierError } {
  const factories: Record<string, (...args: never[]) => CroupierError> = {};
  for (const [name, definition] of Object.entries(definitions)) {
    factories[name] = (...args: never[]) =>
      new CroupierError(definition.code, definition.statusCode, definition.message(...args));
  }
  return factories as { [K in keyof D]: (...args: Parameters<D[K]['message']>) => CroupierError };
}
