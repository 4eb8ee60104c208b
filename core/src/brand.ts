/**
 * Branded io-ts codecs that carry invariants into the types: positive integers, non-negative finite numbers,
 * fractions in [0,1]. Used by every decoder in core so that `expected` messages read the same everywhere.
 */
import * as t from 'io-ts';

export interface PositiveIntBrand { readonly PositiveInt: unique symbol }
export const PositiveInt = t.brand(t.number, (n): n is t.Branded<number, PositiveIntBrand> => Number.isInteger(n) && n > 0, 'PositiveInt');
export type PositiveInt = t.TypeOf<typeof PositiveInt>;

export interface NonNegativeIntBrand { readonly NonNegativeInt: unique symbol }
export const NonNegativeInt = t.brand(t.number, (n): n is t.Branded<number, NonNegativeIntBrand> => Number.isInteger(n) && n >= 0, 'NonNegativeInt');
export type NonNegativeInt = t.TypeOf<typeof NonNegativeInt>;

export interface FiniteBrand { readonly Finite: unique symbol }
export const Finite = t.brand(t.number, (n): n is t.Branded<number, FiniteBrand> => Number.isFinite(n), 'Finite');

export interface NonNegativeBrand { readonly NonNegative: unique symbol }
export const NonNegative = t.brand(t.number, (n): n is t.Branded<number, NonNegativeBrand> => Number.isFinite(n) && n >= 0, 'NonNegative');
export type NonNegative = t.TypeOf<typeof NonNegative>;

export interface PositiveBrand { readonly Positive: unique symbol }
export const Positive = t.brand(t.number, (n): n is t.Branded<number, PositiveBrand> => Number.isFinite(n) && n > 0, 'Positive');
export type Positive = t.TypeOf<typeof Positive>;

export interface FractionBrand { readonly Fraction: unique symbol }
export const Fraction = t.brand(t.number, (n): n is t.Branded<number, FractionBrand> => Number.isFinite(n) && n >= 0 && n <= 1, 'Fraction');
export type Fraction = t.TypeOf<typeof Fraction>;

/** Human words for the brands, used when reporting decode failures. */
export const brandWords: Record<string, string> = {
  PositiveInt: 'a positive integer',
  NonNegativeInt: 'a non-negative integer',
  Finite: 'a finite number',
  NonNegative: 'a finite number ≥ 0',
  Positive: 'a finite number > 0',
  Fraction: 'a number in [0, 1]',
  // Named codecs of model.ts / plan.ts / cost.ts, so a missing or mistyped record reads as words too.
  ModelShape: 'a model {name, layers, queryHeads, kvHeads, headDim}',
  Device: 'a device {id, speed, memoryBytes}',
  CostModel: 'a cost model {name, unit, workModel, fixed, perTokenPair}',
  Split: 'a split {layer, head, parts}',
  SplitPart: 'a split part {device, rowStart, rowEnd}',
  Predicted: 'a predicted block {unit, deviceLoad, layerMakespan, layerLowerBound, total, lowerBoundTotal, balanceEfficiency, bubbleFraction}',
  SolverStatus: '"optimal", "feasible" or "timedout"',
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
};
