/** TaylorMLP (paper §4.1, Algorithm 1): release, Run′, the released artefact, checkpoints and the game-level scheme. */
export * from './release';
export * from './runReleased';
export * from './storage';
export * from './artifact';
export * from './checkpoint';
export * from './scheme';
export * from './load';
export * from './pretrained';
export * from './wholeModel';
export * from './finite';
export * from './validate';
