// "What am I looking at?" — the built-in explanation of the expert lens.

import { h } from '../components';

export function explanation(): HTMLElement {
  const p = (...c: (string | Node)[]) => h('p', {}, ...c);
  const b = (t: string) => h('strong', {}, t);
  return h(
    'section',
    { class: 'explain', 'data-testid': 'lens-explanation', 'aria-label': 'What the expert lens shows' },
    h('h3', {}, 'What am I looking at?'),
    p(
      'A Mixture-of-Experts model replaces the feed-forward block of each layer with ',
      b('E experts'),
      ' and a small ',
      b('router'),
      '. For every token, the router of every MoE layer scores all experts, keeps the ',
      b('top k'),
      ' (e.g. 2 of 8 in Mixtral) and mixes their outputs with ',
      b('gate weights'),
      ' that sum to about 1. Only those k experts run for that token in that layer.',
    ),
    p(
      b('Colours. '),
      'Each token is tinted with the colour of its top-1 expert (the one with the largest gate weight) at the chosen layer. ',
      '"Most frequent" colours a token by the expert that is top-1 in the most layers; "path agreement" shades it by the share of layers whose top-1 expert is the same as for the previous token.',
    ),
    p(
      b('The grid. '),
      'Select a token (click it, or focus the tokens and use the arrow keys). Rows are MoE layers, columns are experts. ',
      'Filled cells are the k experts the router chose in that layer; the fill is proportional to the gate weight. ',
      'Hover or focus a cell for the exact weight. Below it, the path lists the top-1 expert of every layer.',
    ),
    p(
      b('Aggregates. '),
      'The heat map counts tokens per layer and expert (top-k or top-1). ',
      'Load entropy is the entropy of that distribution divided by ln E: 1 means all experts are used equally. ',
      'Gate entropy is the mean entropy of a token’s k gate weights divided by ln k: 1 means the chosen experts weigh equally. ',
      'Keep rates say how often a token keeps the previous token’s top-1 expert, its whole top-k set, or at least one expert; ',
      'each is shown beside what a router picking uniformly at random would score (1/E, 1/C(E,k), 1 − C(E−k,k)/C(E,k)).',
    ),
    p(
      b('Caveats. '),
      'The built-in MoE Lens demo is a small MoE trained on English prose and code: it continues text, and its router learned to send code and prose to different experts. On GPU backends, observing the router disables a fused kernel, so weights can differ slightly (about 1e-5 to 1e-2) and rare near-ties can flip.',
    ),
  );
}
