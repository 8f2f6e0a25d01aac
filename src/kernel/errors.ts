/**
 * The error base of the project. Every error weightgames throws on purpose derives from
 * WeightgamesError and says what kind of failure it is:
 *   usage  — the command line is wrong (a flag, a value out of range)        exit 2
 *   input  — a file (or a path) the user gave is bad: missing, unreadable,
 *            malformed, inconsistent, or an output that must not be written   exit 3
 *   fault  — anything else: a bug, a write error on a good path, a full disk   exit 4
 * The CLI takes its exit code from the kind alone (errorKind), never from a class name.
 */
export type ErrorKind = 'usage' | 'input' | 'fault';

export abstract class WeightgamesError extends Error {
  abstract readonly kind: ErrorKind;
}

/**
 * Node's errors on a path the user named (open, stat, rename of a user-given file or
 * directory): the path is bad, not the tool. ENOSPC, EIO and the like stay faults.
 */
export const INPUT_ERRNO_CODES: ReadonlySet<string> = new Set(['ENOENT', 'EISDIR', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG', 'ELOOP', 'ENXIO', 'ETXTBSY']);

/** The kind of any thrown value: a WeightgamesError's own, input for a path errno, else fault. */
export function errorKind(error: unknown): ErrorKind {
  if (error instanceof WeightgamesError) return error.kind;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && INPUT_ERRNO_CODES.has(code) ? 'input' : 'fault';
}

/** An error re-created from its name, kind and message (e.g. after crossing a worker thread). */
export class ForwardedError extends WeightgamesError {
  constructor(override readonly name: string, readonly kind: ErrorKind, message: string) {
    super(message);
  }
}
