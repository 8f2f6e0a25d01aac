import * as path from 'node:path';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { EffiInfAdversary, WRecAdversary, WindAdversary } from '../adversary';
import type { Prob } from '../prob/prob';
import { compiledPath } from '../estimate/compiledPath';
import { WeightgamesError } from '../errors';

/** The isolated adversary failed: it threw, timed out, or returned something that cannot cross threads. */
export class IsolatedAdversaryError extends WeightgamesError {
  override readonly name = 'IsolatedAdversaryError';
  readonly kind = 'fault' as const;
}

export interface IsolationOptions {
  /** The module's export that holds the adversary (default: the module itself, or `default`). */
  readonly exportName?: string;
  /** How long one procedure call may take before the thread is stopped (default 120 s). */
  readonly timeoutMs?: number;
}

/**
 * An adversary given as a module path, run in a worker thread of its own: for adversary code you
 * do not trust. The game's procedure call sends the worker only structured clones of the
 * adversary's inputs in the paper's game (pk, W′, x or W0, W1) and coins drawn for it on its own
 * stream; the worker answers with a structured clone of the output. The thread shares no
 * memory and no module with the challenger, so nothing of the trial (seed, trial number, other
 * streams, the meter) is reachable from it. Its work is not on the meter: its cost is reported
 * unverified (never admissible in EffiInf). Oracles (multi-query games) are not supported.
 */
class IsolatedProcedures {
  private worker: Worker | undefined;
  private port: MessagePort | undefined;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));

  constructor(
    private readonly modulePath: string,
    private readonly options: IsolationOptions,
  ) {}

  call(procedure: string, args: readonly unknown[]): Prob<unknown> {
    return (ctx) => {
      // The adversary's own coins: drawn on its stream, so results stay seed-addressed.
      const coins = `${ctx.rng.uniform()}:${ctx.rng.uniform()}`;
      const port = this.start();
      Atomics.store(this.signal, 0, 0);
      port.postMessage({ procedure, args, coins });
      const waited = Atomics.wait(this.signal, 0, 0, this.options.timeoutMs ?? 120_000);
      if (waited === 'timed-out') {
        this.close();
        throw new IsolatedAdversaryError(`${this.modulePath}: ${procedure} did not answer within ${this.options.timeoutMs ?? 120_000} ms`);
      }
      const received = receiveMessageOnPort(port);
      if (received === undefined) throw new IsolatedAdversaryError(`${this.modulePath}: ${procedure} signalled without an answer`);
      const reply = received.message as { ok: true; value: unknown } | { ok: false; name: string; message: string };
      if (!reply.ok) throw new IsolatedAdversaryError(`${this.modulePath}: ${procedure} failed: ${reply.name}: ${reply.message}`);
      return reply.value;
    };
  }

  private start(): MessagePort {
    if (this.port !== undefined) return this.port;
    const script = compiledPath(path.join(__dirname, path.basename(__filename).replace(/isolatedAdversary\.(ts|js)$/, 'adversaryWorker.$1')));
    const { port1, port2 } = new MessageChannel();
    this.worker = new Worker(script, {
      workerData: { modulePath: path.resolve(this.modulePath), exportName: this.options.exportName ?? 'default', port: port2, signal: this.signal },
      transferList: [port2],
      // No inherited environment: the challenger's variables stay in its process.
      env: {},
    });
    this.worker.unref();
    port1.unref();
    this.port = port1;
    return port1;
  }

  close(): void {
    void this.worker?.terminate();
    this.worker = undefined;
    this.port?.close();
    this.port = undefined;
  }
}

/** A WRec adversary run in isolation: its module exports `{ name, recover(pk, released) }`. */
export function isolatedWRecAdversary<PK, R, W>(modulePath: string, options: IsolationOptions = {}): WRecAdversary<PK, R, W> & { close: () => void } {
  const procedures = new IsolatedProcedures(modulePath, options);
  return {
    name: `isolated(${path.basename(modulePath)})`,
    recover: (pk, released) => procedures.call('recover', [pk, released]) as Prob<W>,
    close: () => procedures.close(),
  };
}

/** A W-IND adversary run in isolation: its module exports `{ name, distinguish(pk, w0, w1, released) }`. */
export function isolatedWindAdversary<PK, W, R>(modulePath: string, options: IsolationOptions = {}): WindAdversary<PK, W, R> & { close: () => void } {
  const procedures = new IsolatedProcedures(modulePath, options);
  return {
    name: `isolated(${path.basename(modulePath)})`,
    distinguish: (pk, w0, w1, released) => (ctx) => {
      const guess = procedures.call('distinguish', [pk, w0, w1, released])(ctx);
      if (guess !== 0 && guess !== 1) throw new IsolatedAdversaryError(`${modulePath}: distinguish must answer 0 or 1, got ${String(guess)}`);
      return guess;
    },
    close: () => procedures.close(),
  };
}

/** An EffiInf adversary run in isolation: its module exports `{ name, infer(pk, released, x) }`. Its cost is unverified. */
export function isolatedEffiInfAdversary<PK, R, X, Y>(modulePath: string, options: IsolationOptions = {}): EffiInfAdversary<PK, R, X, Y> & { close: () => void } {
  const procedures = new IsolatedProcedures(modulePath, options);
  return {
    name: `isolated(${path.basename(modulePath)})`,
    infer: (pk, released, x) => procedures.call('infer', [pk, released, x]) as Prob<Y>,
    close: () => procedures.close(),
  };
}
