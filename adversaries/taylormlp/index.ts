/** Attacks on TaylorMLP: the paper's pairwise attack and our consensus attack, at block and file level. */
export * from './recovered';
export * from './consensus';
export * from './pairwise';
export * from './attack';
export * from './compare';
export * from './inference';
