import { Value } from '@sinclair/typebox/value';
import type { Static, TObject } from '@sinclair/typebox';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads a service's settings from environment variables. Each schema property
 * name is the variable name. Numbers and booleans are converted from strings
 * and defaults are applied. All problems are reported at once, naming the
 * variable but never echoing a value that could be a secret.
 */
export function readConfig<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }

  const converted = Value.Convert(schema, Value.Default(schema, raw));
  const problems = [...Value.Errors(schema, converted)].map(
    (error) => `${error.path.replace(/^\//, '') || '(root)'}: ${error.message}`,
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return converted as Static<T>;
}
