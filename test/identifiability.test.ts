import { activations, ActivationName } from '../src/numerics/activations';
import { MlpBlock, runMlp } from '../src/numerics/models/mlp';
import { tensor } from '../src/numerics/tensor/tensor';
import * as P from '../src/kernel/prob/prob';
import { calibrationRange, releaseBlock, syntheticCalibration, StorageDType } from '../schemes/taylormlp';
import { consensusRecoverBlock, pairwiseRecoverBlock, UnitClass, UnitStatus, UnrecoverableReason, summarizeRecovery } from '../adversaries/taylormlp';
import { trialContext } from '../src/kernel/prob/challenger';

const d = 24;
const h = 96;
const o = 48;

/** A block whose first-layer biases are spread evenly over [−spread, spread] (saturated and dead units included). */
function spreadBlock(seed: string, spread: number): MlpBlock {
  const c = trialContext(seed, 0);
  return {
    kind: 'plain',
    inputDim: d,
    hiddenDim: h,
    outputDim: o,
    first: P.normalArray(h * d, 1 / Math.sqrt(d))(c),
    firstBias: Float64Array.from({ length: h }, (_, j) => -spread + (2 * spread * j) / (h - 1)),
    up: null,
    second: P.normalArray(o * h, 1 / Math.sqrt(h))(c),
    secondBias: P.normalArray(o, 0.1)(c),
  };
}

const relativeOutputError = (a: MlpBlock, b: MlpBlock, act: ActivationName, x: Float64Array): number => {
  const y = runMlp(a, activations[act], tensor([x.length / d, d], x)).data;
  const yr = runMlp(b, activations[act], tensor([x.length / d, d], x)).data;
  let num = 0;
  let den = 0;
  for (let q = 0; q < y.length; q++) {
    num += (y[q] - yr[q]) ** 2;
    den += y[q] ** 2;
  }
  return Math.sqrt(num / den);
};

describe('identifiability classes: a representative of every class keeps the block function', () => {
  it.each(
    (
      [
        ['sigmoid', 130, 'f32'],
        ['sigmoid', 130, 'bf16'],
        ['silu', 40, 'f32'],
        ['silu', 40, 'bf16'],
        ['gelu', 40, 'f32'],
        ['gelu', 40, 'bf16'],
        ['gelu_tanh', 40, 'f32'],
        ['gelu_tanh', 40, 'bf16'],
      ] as const
    ).flatMap(([act, spread, dtype]) => [false, true].map((signs) => [act, spread, dtype, signs] as const)),
  )('%s, biases to ±%d, %s, signs %s: output within 1e-5 (f32) / 1e-2 (bf16) on N(0,1) and U[0,1]; W within 1 %% where determined; zero only if dead', (act, spread, dtype, signs) => {
    const block = spreadBlock(`classes-${act}`, spread);
    const range = calibrationRange(block, syntheticCalibration(96, d, 1, 'cal')(trialContext('cal', 0)));
    // Random signs (the secret key): a fixed pseudo-random ±1 per unit.
    const signArray = signs ? Int8Array.from({ length: h }, (_, j) => ((j * 7919 + 13) % 5 < 2 ? -1 : 1)) : null;
    const released = releaseBlock(block, activations[act], range, { order: 8, dtype: dtype as StorageDType, signs }, signArray);
    const recovered = consensusRecoverBlock(released, activations[act], dtype as StorageDType, { signs });
    const tolerance = dtype === 'f32' ? 1e-5 : 1e-2;
    const normal = P.normalArray(64 * d)(trialContext('x-normal', 0));
    const uniformContext = trialContext('x-uniform', 0);
    const uniform = Float64Array.from({ length: 64 * d }, () => P.uniform(uniformContext));
    expect(relativeOutputError(block, recovered, act, normal)).toBeLessThanOrEqual(tolerance);
    expect(relativeOutputError(block, recovered, act, uniform)).toBeLessThanOrEqual(tolerance);
    const classes = summarizeRecovery([recovered]).classes;
    expect(classes.flagged ?? 0).toBe(0);
    for (let j = 0; j < h; j++) {
      const cls = recovered.unitClass![j];
      let zero = true;
      for (let i = 0; i < o; i++) if (recovered.second[i * h + j] !== 0) zero = false;
      expect(zero).toBe(cls === UnitClass.dead);
      if (cls === UnitClass.exact || cls === UnitClass.wOnly) {
        for (let i = 0; i < o; i++) expect(Math.abs(recovered.second[i * h + j] - block.second[i * h + j])).toBeLessThanOrEqual(0.01 * Math.abs(block.second[i * h + j]));
        expect(recovered.status[j]).toBe(UnitStatus.recovered);
      } else expect(recovered.status[j]).toBe(UnitStatus.unrecoverable);
    }
    // The spread reaches every regime: something beyond exact must be present for the sigmoid.
    if (act === 'sigmoid') expect((classes['product-only'] ?? 0) + (classes.dead ?? 0)).toBeGreaterThan(0);
  });
});

describe("pairwise: the paper's equations, every root, disambiguated by further pairs", () => {
  /** GELU block with biases N(−0.5, 1) and 768 output rows (the OPT-125M-shaped bench's distribution and row count), 512 hidden units. */
  function optLike(seed: string): MlpBlock {
    const c = trialContext(seed, 0);
    return {
      kind: 'plain',
      inputDim: 64,
      hiddenDim: 512,
      outputDim: 768,
      first: P.normalArray(512 * 64, 1 / 8)(c),
      firstBias: P.normalArray(512, 1)(c).map((v) => v - 0.5),
      up: null,
      second: P.normalArray(768 * 512, 1 / Math.sqrt(512))(c),
      secondBias: P.normalArray(768, 0.1)(c),
    };
  }
  it.each([
    ['f32', false, 0.9999],
    ['f32', true, 0.9999],
    ['bf16', false, 0.997],
    ['bf16', true, 0.997],
  ] as const)('%s, signs %s: ≥ %d of W within 1 %%, units with |u| > √2 included, and nothing wrong is reported recovered', (dtype, signs, bar) => {
    const block = optLike(`pw-${dtype}-${signs}`);
    const range = calibrationRange(block, syntheticCalibration(64, 64, 1, 'pw')(trialContext('pw', 0)));
    const signArray = signs ? Int8Array.from({ length: 512 }, (_, j) => (j % 3 === 0 ? -1 : 1)) : null;
    const released = releaseBlock(block, activations.gelu, range, { order: 8, dtype, signs }, signArray);
    const recovered = pairwiseRecoverBlock(released, activations.gelu, { dtype, signs });
    let within = 0;
    let beyondPole = 0;
    for (let j = 0; j < 512; j++) {
      const u = (range.max[j] + range.min[j]) / 2 + block.firstBias![j];
      let columnOk = true;
      for (let i = 0; i < 768; i++) {
        const q = i * 512 + j;
        if (Math.abs(recovered.second[q] - block.second[q]) < 0.01 * Math.abs(block.second[q])) within++;
        else columnOk = false;
      }
      if (Math.abs(u) > Math.SQRT2 && columnOk) beyondPole++;
      // Every failing unit is flagged with a reason.
      if (!columnOk) {
        expect(recovered.status[j]).toBe(UnitStatus.unrecoverable);
        expect(recovered.reason![j]).not.toBe(UnrecoverableReason.none);
      }
    }
    expect(within / block.second.length).toBeGreaterThanOrEqual(bar);
    // The old nearest-to-0 root lost every unit with |u| > √2; these are recovered now.
    expect(beyondPole).toBeGreaterThan(100);
  });

  it('with only one pair (N = 2) several roots cannot be told apart: flagged as ambiguous, never guessed', () => {
    const block = optLike('pw-n2');
    const range = calibrationRange(block, syntheticCalibration(64, 64, 1, 'pw')(trialContext('pw', 0)));
    const recovered = pairwiseRecoverBlock(releaseBlock(block, activations.gelu, range, { order: 2, dtype: 'f32' }, null), activations.gelu, { dtype: 'f32' });
    const reasons = summarizeRecovery([recovered]).reasons;
    expect(reasons['several roots consistent with every pair']).toBeGreaterThan(0);
    for (let j = 0; j < 512; j++) {
      if (recovered.status[j] !== UnitStatus.recovered) continue;
      for (let i = 0; i < 768; i++) expect(Math.abs(recovered.second[i * 512 + j] - block.second[i * 512 + j])).toBeLessThan(0.01 * Math.abs(block.second[i * 512 + j]));
    }
  });
});
