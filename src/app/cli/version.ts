import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package version, read from package.json (three or four levels up, from src/app/cli or dist/src/app/cli). */
function readVersion(): string {
  for (const up of ['../../../package.json', '../../../../package.json']) {
    const file = path.resolve(__dirname, up);
    if (fs.existsSync(file)) {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'weightgames' && typeof parsed.version === 'string') return parsed.version;
    }
  }
  return '0.0.0';
}

export const version = readVersion();
