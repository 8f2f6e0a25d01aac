import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { keyedRng } from '../prob/rng';
import type { ProbContext } from '../prob/prob';

/**
 * The thread an untrusted adversary runs in. It loads the adversary's module, and for each
 * request calls one procedure with the structured-cloned inputs and a context made of its own
 * coins only (an Rng keyed by the coins the game drew for it on the adversary's stream), then
 * returns the structured-cloned output. Nothing of the challenger lives in this thread.
 */
interface Init {
  readonly modulePath: string;
  readonly exportName: string;
  readonly port: MessagePort;
  readonly signal: Int32Array;
}

interface Request {
  readonly procedure: string;
  readonly args: readonly unknown[];
  readonly coins: string;
}

const { modulePath, exportName, port, signal } = workerData as Init;

function reply(message: unknown): void {
  try {
    port.postMessage(message);
  } catch (error) {
    // The output could not be cloned (a function, a symbol…): report that instead.
    port.postMessage({ ok: false, name: 'DataCloneError', message: `the adversary's output cannot cross threads: ${(error as Error).message}` });
  }
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

port.on('message', (request: Request) => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(modulePath) as Record<string, unknown>;
    const adversary = (exportName === 'default' && exported[exportName] === undefined ? exported : exported[exportName]) as Record<string, unknown> | undefined;
    const procedure = adversary?.[request.procedure];
    if (typeof procedure !== 'function') throw new TypeError(`${modulePath}: export ${exportName} has no procedure ${request.procedure}`);
    const ctx: ProbContext = Object.freeze({ rng: keyedRng(request.coins), notes: Object.freeze({ write: () => undefined }) });
    const prob = procedure.apply(adversary, request.args) as unknown;
    if (typeof prob !== 'function') throw new TypeError(`${request.procedure} must return a Prob (a function of its context)`);
    reply({ ok: true, value: (prob as (c: ProbContext) => unknown)(ctx) });
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    reply({ ok: false, name: e.name, message: e.message });
  }
});
