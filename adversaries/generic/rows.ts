import { ApiRows, apiEffiInf } from '../../src/kernel/registry';
import type { OneHiddenLayerFormat } from './format';
import { reluExtraction } from './reluExtraction';
import { smoothExtraction } from './smoothExtraction';
import { distillation } from './distillation';
import { sameUpToHiddenSymmetry } from './symmetry';

export interface GenericAttackOptions {
  /** The surrogate's hidden width for distillation (Run's architecture: the width Run has). */
  readonly hiddenDim: number;
  /** The Run′ query budget q of every API row (default 1,000,000: extraction stops by itself). */
  readonly queries?: number;
  /** Distillation's own number of queries (default 256). */
  readonly distillQueries?: number;
  /** δ of the extraction's Same up to the activation's symmetries (default 1e-6). */
  readonly threshold?: number;
}

/**
 * The generic attacks' rows for a scheme whose Run is a one-hidden-layer MLP of `format`: one
 * line in a registry entry (`.attacks({ …, api: genericAttacks(format, { hiddenDim }) })`) gives
 * any scheme — a user's too — extraction through Run′ queries (critical points for ReLU, curvature
 * for smooth activations; judged up to the activation's symmetries) and distillation.
 */
export function genericAttacks<W, X, Y, PK, R>(format: OneHiddenLayerFormat<W, X, Y>, options: GenericAttackOptions): ApiRows<W, X, Y, PK, R> {
  const same = () => sameUpToHiddenSymmetry(format, options.threshold ?? 1e-6);
  const distillQueries = options.distillQueries ?? 256;
  const extraction: NonNullable<ApiRows<W, X, Y, PK, R>['wrec']> =
    format.activation === 'relu'
      ? { 'relu-extraction': { adversary: () => reluExtraction<W, X, Y, PK>(format), same } }
      : { 'smooth-extraction': { adversary: () => smoothExtraction<W, X, Y, PK>(format), same } };
  return {
    queries: options.queries ?? 1_000_000,
    wrec: extraction,
    effiinf: { [`distill-q${distillQueries}`]: () => apiEffiInf(distillation<W, X, Y, PK, R>(format, { queries: distillQueries, hiddenDim: options.hiddenDim })) },
  };
}
