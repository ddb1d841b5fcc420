// The algorithm of each code a compiled limit carries (AlgorithmCode in src/plan.ts; LOG,
// WINDOW, BUCKET, FIXED, MONTH in src/lua/include/lib.lua), opposite each Lua include.
import type { AlgorithmCode } from '../plan';
import { calendarMonth, type FixedState, fixedWindow } from './fixed-window';
import { type LogState, slidingLog } from './sliding-log';
import { slidingWindow, type WindowState } from './sliding-window';
import { type BucketState, tokenBucket } from './token-bucket';
import type { Algorithm } from './types';

export type LimitState = LogState | WindowState | BucketState | FixedState;

export const ALGORITHMS: Readonly<Record<AlgorithmCode, Algorithm<LimitState>>> = {
  1: slidingLog,
  2: slidingWindow,
  3: tokenBucket,
  4: fixedWindow,
  5: calendarMonth,
};
