/**
 * An integer with its thousands grouped by commas ("28,311,552"), as `toLocaleString('en-US')`
 * writes it — without it: a thread's first toLocaleString loads ICU's locale data (~35 ms here),
 * which fell on the end of every release and attack the CLI printed.
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return String(n);
  if (Object.is(n, -0)) return '-0';
  const digits = Math.abs(n).toString();
  let out = '';
  for (let end = digits.length; end > 0; end -= 3) out = digits.slice(Math.max(0, end - 3), end) + (out === '' ? '' : ',' + out);
  return (n < 0 ? '-' : '') + out;
}
