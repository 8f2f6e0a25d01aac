/** The security games of §3: Correctness, WRec, EffiInf, W-IND and their multi-query variants. */
export { correctnessGame, CorrectnessOptions } from './correctness';
export { wrecGame, WRecOptions } from './wrec';
export { effiInfGame, EffiInfOptions } from './effiInf';
export { windGame, WindOptions, trainDistinct } from './wind';
export { wrecMultiQueryGame, windMultiQueryGame } from './multiQuery';
export { effiInfQInputGame, QInputEffiInfOptions } from './qInputEffiInf';
export { Admissibility, CostTrust } from './admissibility';
export { GameRuleError, QueryBudgetExceededError, IndistinctTrainingError } from './trial';
export { wrecApiGame, effiInfApiGame, ApiWRecOptions, ApiEffiInfOptions, OracleCharge } from './apiAccess';
export {
  scorecard,
  formatScorecard,
  scorecardRows,
  scorecardGame,
  scorecardGameFromArgs,
  loadSchemeEntry,
  adversaryLabel,
  gameLabel,
  Scorecard,
  ScorecardRow,
  ScorecardOptions,
  ScorecardRowSpec,
  RowAdversary,
  EntryLocation,
  ScorecardError,
} from './scorecard';
