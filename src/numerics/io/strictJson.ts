import { WeightgamesError } from '../../kernel/errors';
/**
 * A strict JSON parser for untrusted headers: like JSON.parse, but an object with a duplicate
 * key is an error (JSON.parse silently keeps the last one, which lets two readers of the same
 * file disagree), and nesting is bounded.
 */
export class StrictJsonError extends WeightgamesError {
  override readonly name = 'StrictJsonError';
  readonly kind = 'input';
  constructor(message: string, readonly duplicateKey?: string) {
    super(message);
  }
}

const MAX_DEPTH = 64;

export function parseStrictJson(text: string): unknown {
  let i = 0;
  const fail = (what: string): never => {
    throw new StrictJsonError(`${what} at offset ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    ws();
    const c = text[i];
    if (c === '{') return object(depth);
    if (c === '[') return array(depth);
    if (c === '"') return string();
    if (c === 't' && text.startsWith('true', i)) return (i += 4), true;
    if (c === 'f' && text.startsWith('false', i)) return (i += 5), false;
    if (c === 'n' && text.startsWith('null', i)) return (i += 4), null;
    return number();
  };
  const object = (depth: number): Record<string, unknown> => {
    i++;
    const out: Record<string, unknown> = Object.create(null);
    const seen = new Set<string>();
    ws();
    if (text[i] === '}') return i++, out;
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected a string key');
      const key = string();
      if (seen.has(key)) throw new StrictJsonError(`duplicate key ${JSON.stringify(key)} at offset ${i}`, key);
      seen.add(key);
      ws();
      if (text[i] !== ':') fail("expected ':'");
      i++;
      out[key] = value(depth + 1);
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '}') return i++, out;
      fail("expected ',' or '}'");
    }
  };
  const array = (depth: number): unknown[] => {
    i++;
    const out: unknown[] = [];
    ws();
    if (text[i] === ']') return i++, out;
    for (;;) {
      out.push(value(depth + 1));
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === ']') return i++, out;
      fail("expected ',' or ']'");
    }
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('control character in a string');
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('invalid string escape');
    }
  };
  const number = (): number => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (match === null) return fail('unexpected character');
    i += match[0].length;
    return Number(match[0]);
  };
  const result = value(0);
  ws();
  if (i !== text.length) fail('trailing characters after the JSON value');
  return result;
}
