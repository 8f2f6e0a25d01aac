/** Run `thunk` with these environment variables set, each restored (or removed) afterwards, whatever it throws. */
export function withEnvironment<A>(values: Readonly<Record<string, string>>, thunk: () => A): A {
  const keys = Object.keys(values);
  const before = keys.map((key) => process.env[key]);
  for (const key of keys) process.env[key] = values[key];
  try {
    return thunk();
  } finally {
    keys.forEach((key, q) => (before[q] === undefined ? delete process.env[key] : (process.env[key] = before[q])));
  }
}
