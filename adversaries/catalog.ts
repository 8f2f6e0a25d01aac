import type { PackedSchemeEntry } from '../src/kernel/registry';
import { toyEntries } from './toy/entries';
import { taylorMlpEntry } from './taylormlp/entry';

/**
 * The built-in schemes, by name: each scheme's registry entry with the attacks that apply to it.
 * `evaluate --scheme <name>` plays them; a user's module plays the same way with
 * `evaluate --scheme ./my-scheme.js`.
 */
export const builtinSchemes: Readonly<Record<string, PackedSchemeEntry>> = Object.freeze(
  Object.fromEntries([...toyEntries, taylorMlpEntry].map((entry) => [entry.name, entry])),
);

/** Where worker threads load a built-in entry from (see `scorecardGame`'s `location`). */
export const builtinSchemeLocation = (name: string): { module: string; exportName: string; key: string } => ({ module: __filename, exportName: 'builtinSchemes', key: name });
