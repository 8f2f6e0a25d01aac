import cliProgress from 'cli-progress';

/** A progress bar on stderr (only when stderr is a terminal, so logs and pipes stay clean). */
export function progressBar(label: string, total: number): { update: (done: number, detail?: string) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: `${label} [{bar}] {value}/{total} {detail}`, hideCursor: true, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  return {
    update: (done, detail = '') => bar.update(done, { detail }),
    stop: () => bar.stop(),
  };
}

/** The per-block callback of `release` and `attack`: a bar sized on the first call, and its stop. */
export function blockProgress(label: string): { onBlock: (index: number, total: number, prefix: string) => void; stop: () => void } {
  let bar: ReturnType<typeof progressBar> | undefined;
  return {
    onBlock: (index, total, prefix) => {
      bar ??= progressBar(label, total);
      bar.update(index + 1, prefix);
    },
    stop: () => bar?.stop(),
  };
}
