import fc from 'fast-check';
import { groupDigits } from '../src/app/cli/groupDigits';

/** The CLI's thousands grouping (src/app/cli/groupDigits.ts) writes integers as toLocaleString('en-US') does, without loading ICU. */
describe('groupDigits', () => {
  it("equals toLocaleString('en-US') on every safe integer", () => {
    fc.assert(fc.property(fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -1e7, max: 1e7 })), (n) => groupDigits(n) === n.toLocaleString('en-US')));
    for (const n of [0, -0, 7, 999, 1000, -1000, 28_311_552, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) expect(groupDigits(n)).toBe(n.toLocaleString('en-US'));
  });
});
