// How a token is coloured: by its top-1 expert at one layer, by the most frequent top-1 expert over all
// layers, or by its path agreement with the previous token (share of layers keeping the top-1 expert).

import type { TurnModel } from '../store';

/** 'mode' | 'agree' | a routing-layer position as a decimal string ('0', '1', ...). */
export type ColorMode = string;

export interface TokenColor {
  /** class to put on the span (x<e> for experts, a<bucket> for agreement, '' for none). */
  cls: string;
  /** expert id the colour stands for (-1 when none, e.g. agreement mode). */
  expert: number;
  /** agreement in [0,1] (agreement mode). */
  agree: number | null;
}

const NONE: TokenColor = { cls: 'x-none', expert: -1, agree: null };

export function tokenColor(turn: TurnModel, pos: number, mode: ColorMode): TokenColor {
  const r = turn.routing;
  if (mode === 'agree') {
    const a = r.agreement(pos);
    if (a === null) return r.hasRouting(pos) ? { cls: 'a-none', expert: -1, agree: null } : NONE;
    return { cls: `a${Math.min(4, Math.floor(a * 5))}`, expert: -1, agree: a };
  }
  const e = mode === 'mode' ? r.modeTop1(pos) : r.top1(pos, Number(mode));
  return e < 0 ? NONE : { cls: `x${e}`, expert: e, agree: null };
}

export function parseMode(mode: string, layers: number): ColorMode {
  if (mode === 'mode' || mode === 'agree') return mode;
  const n = Number(mode);
  return Number.isInteger(n) && n >= 0 && (layers === 0 || n < layers) ? String(n) : 'mode';
}
