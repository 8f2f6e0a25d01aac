/**
 * Whose cost the meter sees in full. The meter counts what the library's kernels did; work done
 * in plain JavaScript loops is invisible to it. So a metered cost is a *lower bound* on an
 * algorithm's work, and it is exact only for code known to do all its arithmetic through the
 * metered kernels: the library's own schemes and adversaries, reviewed for that, are marked
 * here. Everything else — a user's scheme or adversary — has an unverified cost, unless the
 * experimenter (never the adversary) vouches for it through a game option.
 *
 * The mark lives in a module-private WeakSet and marked objects are frozen, so a copy, a wrapper
 * or a patched object is never marked. Not part of the public exports.
 */
const audited = new WeakSet<object>();

/** Mark a library algorithm (scheme or adversary) as metered in full, and freeze it. */
export function markAudited<T extends object>(value: T): T {
  Object.freeze(value);
  audited.add(value);
  return value;
}

/** Is this the library's own, fully metered algorithm? */
export const isAudited = (value: object): boolean => audited.has(value);
