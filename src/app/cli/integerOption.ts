import { WeightgamesError } from '../../kernel/errors';

/** A command-line option that does not parse. */
export class CliUsageError extends WeightgamesError {
  override readonly name = 'CliUsageError';
  readonly kind = 'usage';
}

/**
 * The CLI's one integer parser: a decimal integer in [min, 2⁵³ − 1] (beyond, Number() would
 * silently round it); anything else — signs, exponents, fractions, spaces — is a usage error
 * naming the option.
 */
export function parseIntegerOption(name: string, value: string, min: number): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min) throw new CliUsageError(`--${name} must be an integer in [${min}, 2^53 − 1], got "${value}"`);
  return parsed;
}

/** The same as a commander option parser. */
export const integerOption = (name: string, min: number) => (value: string): number => parseIntegerOption(name, value, min);
