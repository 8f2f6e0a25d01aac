import { parentPort } from 'node:worker_threads';
import type { Game, GameRef } from '../game';
import { playTrials } from './estimate';

/** Messages from the pool: build the game once, then play chunks of trials. */
type Request = { readonly kind: 'init'; readonly ref: GameRef } | { readonly kind: 'play'; readonly seed: string; readonly from: number; readonly to: number };

let game: Game | undefined;

parentPort?.on('message', (request: Request) => {
  try {
    if (request.kind === 'init') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const factory = require(request.ref.module)[request.ref.exportName] as ((args: unknown) => Game) | undefined;
      if (typeof factory !== 'function') throw new Error(`${request.ref.module} has no function export ${request.ref.exportName}`);
      game = factory(request.ref.args);
      parentPort?.postMessage({ kind: 'ready' });
      return;
    }
    if (game === undefined) throw new Error('trial worker: play before init');
    parentPort?.postMessage({ kind: 'results', from: request.from, results: playTrials(game, request.seed, request.from, request.to) });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    parentPort?.postMessage({ kind: 'error', name: e.name, message: e.message });
  }
});
