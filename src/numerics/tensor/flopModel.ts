/**
 * The FLOP cost model every kernel charges by. A kernel charges exactly the operations its
 * loops execute on floating-point data under these rules, counted where they run (a branch
 * that skips work skips its charge):
 * - a binary +, −, ×, ÷ on numbers: 1 (a multiply-add counts 2; adding a literal 0 still counts 1;
 *   `x ** 2` is one ×);
 * - a call of Math.sqrt, hypot, exp, expm1, log, pow, sin, cos, tanh or erf/erfc: {@link SPECIAL_FLOPS},
 *   whatever its argument;
 * - comparisons, Math.max/min/abs, unary minus, branch selection: 0;
 * - index arithmetic (offsets, loop counters), loads, stores and allocation: 0.
 */

/** What one call of a special function (sqrt, exp, pow, tanh, erfc, …) counts. */
export const SPECIAL_FLOPS = 8;
