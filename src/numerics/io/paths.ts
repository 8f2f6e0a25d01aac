import * as fs from 'node:fs';
import * as path from 'node:path';
import { WeightgamesError } from '../../kernel/errors';

/**
 * The one guard on the paths a command reads and writes, run before any work:
 *   - every input is an existing regular file we may read (symlinks followed), known by its
 *     identity (device, inode), not by the string that named it;
 *   - the output's directory exists and is writable (EROFS, EACCES found now, not after the work);
 *   - the output is absent or a regular file — never a directory, a device, a FIFO, a socket or a
 *     symbolic link (which would be replaced) — and is none of the inputs (same device and inode:
 *     through a symlink, a symlinked directory or a hard link alike);
 *   - its name fits the file system (255 bytes), and so does the temporary name beside it.
 * Writers re-check the output just before they rename over it.
 */

/** A named input file is missing, unreadable or not a regular file. */
export class InputFileError extends WeightgamesError {
  override readonly name = 'InputFileError';
  readonly kind = 'input';
}

/** An output path that must not (or cannot) be written. */
export class OutputPathError extends WeightgamesError {
  override readonly name = 'OutputPathError';
  readonly kind = 'input';
}

/** The longest file name (one path component, in bytes) of the file systems we write to. */
export const NAME_MAX = 255;

/** A file as the kernel knows it. */
export interface FileIdentity {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

const reason = (error: unknown): string => {
  const e = error as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'does not exist';
    case 'ENOTDIR':
      return 'does not exist (a component of its path is not a directory)';
    case 'EACCES':
    case 'EPERM':
      return 'is not accessible (permission denied)';
    case 'ENAMETOOLONG':
      return 'has a name too long for the file system';
    case 'ELOOP':
      return 'has too many levels of symbolic links';
    default:
      return `cannot be read (${e.code ?? e.message})`;
  }
};

/** Check an input file before any work: exists, regular (symlinks followed), readable. */
export function checkInputFile(file: string, what = 'input'): FileIdentity {
  let stats: fs.Stats;
  try {
    stats = fs.statSync(file);
  } catch (error) {
    throw new InputFileError(`${what} ${file} ${reason(error)}`);
  }
  if (stats.isDirectory()) throw new InputFileError(`${what} ${file} is a directory, not a file`);
  if (!stats.isFile()) throw new InputFileError(`${what} ${file} is not a regular file`);
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (error) {
    throw new InputFileError(`${what} ${file} ${reason(error)}`);
  }
  return { path: file, dev: stats.dev, ino: stats.ino };
}

/** The identity of a file that may or may not exist (e.g. the config.json beside a checkpoint). */
export function identityIfExists(file: string): FileIdentity | null {
  try {
    const stats = fs.statSync(file);
    return { path: file, dev: stats.dev, ino: stats.ino };
  } catch {
    return null;
  }
}

/** Truncate a string to at most `bytes` bytes of UTF-8, on a character boundary. */
function truncateUtf8(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (used + n > bytes) break;
    out += ch;
    used += n;
  }
  return out;
}

/**
 * The temporary file beside `target`: `.NAME.PID.tmp` (PID in base 36), NAME truncated so that
 * the whole fits NAME_MAX. A function of the target and the process alone, so that the CLI's main
 * thread can remove what a worker thread was writing when a signal arrives.
 */
export function temporaryPathFor(target: string): string {
  const resolved = path.resolve(target);
  const suffix = `.${process.pid.toString(36)}.tmp`;
  return path.join(path.dirname(resolved), `.${truncateUtf8(path.basename(resolved), NAME_MAX - 1 - Buffer.byteLength(suffix))}${suffix}`);
}

/** An output path that passed the guard. */
export interface OutputPlan {
  /** Absolute path of the output. */
  readonly target: string;
  /** The temporary file written, then renamed over the target. */
  readonly temporary: string;
  readonly inputs: readonly FileIdentity[];
}

/** Check the output's directory and the output itself against `inputs` (paths or identities). */
export function checkOutputPath(output: string, inputs: ReadonlyArray<string | FileIdentity | null> = []): OutputPlan {
  if (output.length === 0) throw new OutputPathError('the output path is empty');
  const identities = inputs.flatMap((i) => (i === null ? [] : typeof i === 'string' ? (identityIfExists(i) ?? []) : [i]));
  const target = path.resolve(output);
  if (/[\\/]$/.test(output) || ['.', '..'].includes(path.basename(output))) throw new OutputPathError(`output ${output} names a directory, not a file`);
  const name = path.basename(target);
  if (Buffer.byteLength(name) > NAME_MAX) throw new OutputPathError(`output ${output}: file name too long (${Buffer.byteLength(name)} bytes; the limit is ${NAME_MAX})`);
  const dir = path.dirname(target);
  let dirStats: fs.Stats;
  try {
    dirStats = fs.statSync(dir);
  } catch (error) {
    throw new OutputPathError(`the output's directory ${dir} ${reason(error)}`);
  }
  if (!dirStats.isDirectory()) throw new OutputPathError(`the output's directory ${dir} is not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OutputPathError(`cannot write in ${dir}: ${code === 'EROFS' ? 'read-only file system' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : String(code)}`);
  }
  checkTarget(output, target, identities);
  return { target, temporary: temporaryPathFor(target), inputs: identities };
}

/** The output itself: absent, or a regular file that is none of the inputs. */
function checkTarget(output: string, target: string, inputs: readonly FileIdentity[]): void {
  let stats: fs.Stats;
  try {
    stats = fs.lstatSync(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new OutputPathError(`output ${output} ${reason(error)}`);
  }
  if (stats.isSymbolicLink()) throw new OutputPathError(`output ${output} is a symbolic link: refusing to follow or replace it`);
  if (stats.isDirectory()) throw new OutputPathError(`output ${output} is a directory`);
  if (!stats.isFile()) throw new OutputPathError(`output ${output} is not a regular file (a device, FIFO or socket): refusing to replace it`);
  const same = inputs.find((i) => i.dev === stats.dev && i.ino === stats.ino);
  if (same !== undefined) throw new OutputPathError(`refusing to overwrite the input ${same.path} (the output ${output} is the same file)`);
}

/** Just before the rename: the output is still absent or a regular file that is none of the inputs. */
export function recheckOutput(plan: OutputPlan): void {
  checkTarget(plan.target, plan.target, plan.inputs);
}

/**
 * Create the temporary file exclusively, never through a symlink. A leftover regular file of that
 * name is ours (same name, same PID: an earlier process killed with SIGKILL) and is replaced.
 */
export function openTemporary(plan: OutputPlan): number {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
  try {
    return fs.openSync(plan.temporary, flags, 0o666);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (!fs.lstatSync(plan.temporary).isFile()) throw new OutputPathError(`${plan.temporary} exists and is not a regular file: refusing to write through it`);
    fs.rmSync(plan.temporary);
    return fs.openSync(plan.temporary, flags, 0o666);
  }
}
