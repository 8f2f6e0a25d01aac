import { estimateAdvantage, effiInfFromWRec, windFromWRec } from 'weightgames';
import { correctnessGame, wrecGame, effiInfGame, windGame } from 'weightgames/games';
import { additiveShares } from 'weightgames/schemes';
import { sumSharesAdversary } from 'weightgames/adversaries';

// Σ: the first layer is released as 3 additive shares; Run′ does 3× the work of Run.
const scheme = additiveShares({ shares: 3 });
const data = { inputDim: 8, hiddenDim: 16, outputDim: 4 }; // D fixes the task

// A: sum the shares. B_A: the paper's reductions, built from A.
const recover = sumSharesAdversary;
const games = [
  correctnessGame(scheme, data),
  wrecGame(scheme, data, recover),
  effiInfGame(scheme, data, effiInfFromWRec(scheme, recover)),
  windGame(scheme, data, windFromWRec(scheme, recover)),
];

export async function quickstart(): Promise<string[]> {
  const lines: string[] = [];
  for (const game of games) {
    const e = await estimateAdvantage(game, { trials: 500, seed: 'readme', confidence: 0.95 });
    const [lo, hi] = [e.interval.lower.toFixed(3), e.interval.upper.toFixed(3)];
    lines.push(`${game.name}: advantage ${e.advantage.toFixed(3)} ∈ [${lo}, ${hi}] (${e.method})`);
  }
  return lines;
}

