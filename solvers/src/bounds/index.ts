/**
 * Lower bounds for whole-head placement, one pure function each: bin-packing bounds (Martello–Toth L1, L2), the
 * P||Cmax bounds of Dell'Amico & Martello (L0, L1 / pigeonhole, equal counts), lifting a bin-packing bound to a
 * makespan bound by bisection on the capacity (over achievable loads where they are few), and the exact class-count
 * DP. `../bounds.ts` combines them into the bound every solver's gap is measured against; `../exact.ts` proves with
 * them. Laws: `test/bounds-laws.test.ts` (each bound against brute force on small instances).
 */
export { binsNeededL1, binsNeededL2, binsNeededL3, l2Bins } from './l2.ts';
export { dellAmicoL0, dellAmicoL1, equalCountBound } from './dellAmico.ts';
export { liftCapacity, liftOverSums, lowerIndex, type BinBound } from './lift.ts';
export { achievableSums, classesOf, countVectors, type Classes } from './classes.ts';
export { CLASS_DP_MAX_STATES, classMinBins, relaxClasses, type ClassDpResult, type Meter } from './classDp.ts';
