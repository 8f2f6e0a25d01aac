/**
 * Type-level cheats: each line below is something a cheating adversary or scheme would write
 * against the public API. `npm run typecheck` fails if any of them compiles (an unused
 * `@ts-expect-error` is an error), so the public types keep refusing them.
 */
import * as weightgames from 'weightgames';
import { Prob } from 'weightgames';
import type { ProbContext, WRecAdversary } from 'weightgames';
import type { ToyWeights } from 'weightgames/schemes';

// The meter's levers are not exported: no charging, no unmetered or isolated sections.
// @ts-expect-error chargeFlops is internal to the kernels
export const charge = weightgames.chargeFlops;
// @ts-expect-error unmetered does not exist
export const unmetered = weightgames.unmetered;
// @ts-expect-error isolatedMeter is internal to the games
export const isolated = weightgames.isolatedMeter;

// No way to address the challenger's streams or make a trial's context.
// @ts-expect-error streamAt (absolute stream addressing) does not exist
export const streamAt = Prob.streamAt;
// @ts-expect-error trialContext is internal to the estimator
export const trialContext = Prob.trialContext;
// @ts-expect-error algorithm (the games' metered call) is internal
export const algorithm = Prob.algorithm;
// @ts-expect-error streamRng (an Rng from an address) is internal
export const streamRng = weightgames.streamRng;

// An adversary's context has its coins and a write-only notebook: no seed, trial, ledger or notes to read.
export const readsSeed: WRecAdversary<undefined, ToyWeights, ToyWeights> = {
  name: 'reads-seed',
  recover: (_pk, released) => (ctx: ProbContext) => {
    // @ts-expect-error the context has no seed
    void ctx.seed;
    // @ts-expect-error the context has no trial number
    void ctx.trial;
    // @ts-expect-error the context has no ledger
    void ctx.ledger;
    // @ts-expect-error the notebook is write-only
    void ctx.notes.get('reduction/recovered');
    // @ts-expect-error an Rng has no address
    void ctx.rng.address;
    return released;
  },
};
