// The routing atlas: what the experts of a MoE model specialise in over a labelled corpus, against chance.
// Streaming aggregates per MoE layer (memory bounded by the model's shape and the number of items, never by the
// tokens: counts, a frequent-tokens sketch and a reservoir of example contexts per expert). Pure: no vscode, no DOM.
import { entropy, jensenShannon, seededRandom } from './math';
import { TOKEN_CLASSES, tokenClassIndex } from './atlas-token-class';

/** One corpus item's tokens (the BOS excluded) with their routing, [token][layer][rank] as in a TokenFrame. */
export interface AtlasItem {
  id: string;
  label: string;
  /**
   * Where the item's text starts (1-based line), for example contexts. With `textLines` an example's line is the
   * file line of its token (the text is the file's); otherwise the item's own line (a JSONL line).
   */
  source?: { file: string; line: number; textLines?: boolean };
  texts: string[];
  ids?: ArrayLike<number>;
  experts: ArrayLike<number>;
  weights: ArrayLike<number>;
}

export interface AtlasShape {
  /** The model's block numbers of the MoE layers, in routing order. */
  layers: number[];
  experts: number;
  /** Experts per token (the routing layout's k). */
  k: number;
}

export interface AtlasOptions {
  /** Seed of the permutations and the example reservoirs. */
  seed?: number;
  /** Example contexts kept per (layer, expert). */
  examples?: number;
  /** Tokens kept per (layer, expert) card. */
  topTokens?: number;
  /** Tokens of context either side of an example's token. */
  contextTokens?: number;
}

export interface AtlasExample {
  item: string;
  label: string;
  file?: string;
  line?: number;
  before: string;
  token: string;
  after: string;
  weight: number;
}

export interface AtlasTokenStat {
  text: string;
  count: number;
  meanWeight: number;
}

export interface AtlasCard {
  layer: number;
  expert: number;
  /** Share of the layer's top-k selections. */
  share: number;
  /** Share of the layer's top-1 choices. */
  top1Share: number;
  meanWeight: number;
  byCount: AtlasTokenStat[];
  /** Tokens seen at least 3 times, by mean gate weight. */
  byWeight: AtlasTokenStat[];
  /** Top-1 tokens per label and per token class. */
  labelMix: Record<string, number>;
  classMix: Record<string, number>;
  examples: AtlasExample[];
}

export interface AtlasLoad {
  /** Per expert, its share of the layer's top-k selections. */
  shares: number[];
  entropyBits: number;
  /** entropyBits / log2(E): 1 is a uniform load. */
  normalizedEntropy: number;
  /** Largest share / smallest share (null when an expert got nothing). */
  maxMinRatio: number | null;
  /** Experts under 1/(10E) of the load. */
  underloaded: number[];
}

export interface AtlasPair {
  a: number;
  b: number;
  count: number;
  /** P(a and b chosen together) / (P(a) P(b)): 1 is independence. */
  lift: number;
}

export interface AtlasLayer {
  layer: number;
  tokens: number;
  /** label → per expert, top-1 choices. */
  counts: Record<string, number[]>;
  /** label → per expert, top-k selections. */
  countsTopK: Record<string, number[]>;
  /** I(label; top-1 expert) in bits over the layer's tokens. */
  miBits: number;
  /** Mean MI over the label permutations (labels shuffled among items, each item keeping its tokens). */
  chanceBits: number;
  /** The 95th percentile of the permuted MIs: the top of the chance band. */
  chanceHighBits: number;
  /** (1 + #permutations with MI ≥ observed) / (1 + P). */
  pValue: number;
  /** miBits / min(H(label), H(top-1 expert)): 0 none, 1 one determines the other. */
  normalizedMi: number;
  /** token class → per expert, top-1 choices. */
  classCounts: Record<string, number[]>;
  classMiBits: number;
  /** The MI an independent table of this size shows on average, (R−1)(C−1)/(2N ln 2) (Miller–Madow). */
  classChanceBits: number;
  classNormalizedMi: number;
  load: AtlasLoad;
  /** The most over-represented expert pairs (k ≥ 2; empty otherwise). */
  coactivation: AtlasPair[];
}

export interface AtlasLayerLink {
  from: number;
  to: number;
  /** I(top-1 at `from`; top-1 at `to`) in bits. */
  miBits: number;
  normalizedMi: number;
}

export interface AtlasReport {
  items: number;
  tokens: number;
  labels: string[];
  /** Tokens per label. */
  labelTokens: Record<string, number>;
  classes: string[];
  experts: number;
  expertsPerToken: number;
  permutations: number;
  seed: number;
  layers: AtlasLayer[];
  layerToLayer: AtlasLayerLink[];
  cards: AtlasCard[];
}

/**
 * An AtlasBuilder's whole state as JSON (a resumable run's checkpoint): restoring it and adding the remaining items
 * gives the same report as one uninterrupted run.
 */
export interface AtlasSnapshot {
  shape: AtlasShape;
  seed: number;
  labels: string[];
  top1: number[][];
  topK: number[][];
  labelTokens: number[];
  classTop1: number[];
  weightSums: number[];
  pairs?: number[];
  transitions: number[];
  itemLabels: number[];
  itemRows: number[][][];
  frequent: [number, string, number, number][][];
  reservoirs: { seen: number; kept: AtlasExample[] }[];
  /** Numbers drawn from the reservoirs' random source. */
  draws: number;
  tokens: number;
}

/** Entropy in bits of counts. */
export function entropyBits(values: ArrayLike<number>, offset = 0, length = values.length - offset): number {
  return entropy(values, offset, length) / Math.LN2;
}

/**
 * Mutual information of a contingency table (rows × cols, row-major, from `offset`), in bits:
 * Σ p(r,c) log2 p(r,c) / (p(r) p(c)) = H(row) + H(col) − H(row, col); and normalised, over min(H(row), H(col))
 * (0 none, 1 one determines the other; 0 when either is constant).
 */
export function tableInformation(table: ArrayLike<number>, rows: number, cols: number, offset = 0): { bits: number; normalized: number } {
  const rowSums = new Float64Array(rows);
  const colSums = new Float64Array(cols);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const v = table[offset + r * cols + c];
      rowSums[r] += v;
      colSums[c] += v;
    }
  const hRow = entropyBits(rowSums);
  const hCol = entropyBits(colSums);
  const bits = Math.max(0, hRow + hCol - entropyBits(table, offset, rows * cols)); // rounding can leave −1e-16
  const bound = Math.min(hRow, hCol);
  return { bits, normalized: bound > 0 ? Math.min(1, bits / bound) : 0 };
}

export const mutualInformationBits = (table: ArrayLike<number>, rows: number, cols: number, offset = 0) => tableInformation(table, rows, cols, offset).bits;
export const normalizedMutualInformation = (table: ArrayLike<number>, rows: number, cols: number, offset = 0) =>
  tableInformation(table, rows, cols, offset).normalized;

/**
 * Observed MI and its permutation test, for items that each carry a label and a sparse per-expert count:
 * the labels are shuffled among the items P times (each item keeps its counts).
 * `rows[i]` holds item i's (expert, count) pairs, flattened.
 */
export function permutationTest(
  itemLabels: ArrayLike<number>,
  rows: ArrayLike<number>[],
  labels: number,
  experts: number,
  permutations: number,
  random: () => number,
): { miBits: number; chanceBits: number; chanceHighBits: number; pValue: number } {
  const table = new Float64Array(labels * experts);
  const fill = (assign: ArrayLike<number>) => {
    table.fill(0);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const base = assign[i] * experts;
      for (let j = 0; j < row.length; j += 2) table[base + row[j]] += row[j + 1];
    }
    return mutualInformationBits(table, labels, experts);
  };
  const observed = fill(itemLabels);
  const shuffled = Array.from(itemLabels);
  const permuted: number[] = [];
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = shuffled[i];
      shuffled[i] = shuffled[j];
      shuffled[j] = t;
    }
    const mi = fill(shuffled);
    permuted.push(mi);
    if (mi >= observed - 1e-12) atLeast++;
  }
  permuted.sort((a, b) => a - b);
  const mean = permuted.length ? permuted.reduce((s, v) => s + v, 0) / permuted.length : 0;
  const high = permuted.length ? permuted[Math.min(permuted.length - 1, Math.floor(0.95 * permuted.length))] : 0;
  return { miBits: observed, chanceBits: mean, chanceHighBits: high, pValue: (1 + atLeast) / (1 + permutations) };
}

/** The most frequent keys of a stream, with a weight sum each: exact up to `2 × capacity` distinct keys, then a lossy-counting sketch. */
class FrequentTokens {
  private readonly entries = new Map<number, { text: string; count: number; weight: number }>();
  constructor(private readonly capacity: number) {}

  add(key: number, text: string, weight: number): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.count++;
      entry.weight += weight;
      return;
    }
    if (this.entries.size >= 2 * this.capacity) this.prune();
    this.entries.set(key, { text, count: 1, weight });
  }

  private prune(): void {
    const kept = [...this.entries].sort((a, b) => b[1].count - a[1].count).slice(0, this.capacity);
    this.entries.clear();
    for (const [key, value] of kept) this.entries.set(key, value);
  }

  /** Its entries in insertion order (the order pruning keeps among equal counts), and back. */
  save(): [number, string, number, number][] {
    return [...this.entries].map(([key, e]) => [key, e.text, e.count, e.weight]);
  }

  load(entries: [number, string, number, number][]): void {
    this.entries.clear();
    for (const [key, text, count, weight] of entries) this.entries.set(key, { text, count, weight });
  }

  top(n: number, by: 'count' | 'weight', minCount = 1): AtlasTokenStat[] {
    const stats = [...this.entries.values()]
      .filter((e) => e.count >= minCount)
      .map((e) => ({ text: e.text, count: e.count, meanWeight: e.weight / e.count }));
    stats.sort((a, b) => (by === 'count' ? b.count - a.count || b.meanWeight - a.meanWeight : b.meanWeight - a.meanWeight || b.count - a.count));
    return stats.slice(0, n);
  }
}

const CONTEXT_CHARS = 80;

/** Aggregates items one at a time; `report()` computes the figures. */
export class AtlasBuilder {
  readonly labels: string[] = [];
  private readonly labelIndex = new Map<string, number>();
  private readonly L: number;
  private readonly E: number;
  private readonly C = TOKEN_CLASSES.length;
  /** Per label, [layer][expert] top-1 and top-k counts. */
  private readonly top1: Float64Array[] = [];
  private readonly topK: Float64Array[] = [];
  private readonly labelTokens: number[] = [];
  /** [class][layer][expert] top-1 counts. */
  private readonly classTop1: Float64Array;
  /** [layer][expert] gate-weight sums over top-k selections. */
  private readonly weightSums: Float64Array;
  /** [layer][a][b] pair selections (k ≥ 2) and [layer][a at l][b at l+1] top-1 transitions. */
  private readonly pairs?: Uint32Array;
  private readonly transitions: Uint32Array;
  /** Per item: its label and, per layer, its (expert, top-1 count) pairs. */
  private readonly itemLabels: number[] = [];
  private readonly itemRows: Uint32Array[][];
  private readonly frequent: FrequentTokens[];
  private readonly reservoirs: { seen: number; kept: AtlasExample[] }[];
  private readonly random: () => number;
  private draws = 0;
  private readonly examples: number;
  private readonly topTokens: number;
  private readonly contextTokens: number;
  readonly seed: number;
  tokens = 0;

  constructor(
    readonly shape: AtlasShape,
    options: AtlasOptions = {},
  ) {
    this.L = shape.layers.length;
    this.E = shape.experts;
    if (!(this.E > 0) || !(shape.k > 0)) throw new RangeError('the atlas needs a MoE model (experts and top-k above 0)');
    this.seed = options.seed ?? 0;
    const random = seededRandom(this.seed ^ 0x9e3779b9);
    this.random = () => (this.draws++, random());
    this.examples = options.examples ?? 3;
    this.topTokens = options.topTokens ?? 12;
    this.contextTokens = options.contextTokens ?? 12;
    this.classTop1 = new Float64Array(this.C * this.L * this.E);
    this.weightSums = new Float64Array(this.L * this.E);
    if (shape.k >= 2) this.pairs = new Uint32Array(this.L * this.E * this.E);
    this.transitions = new Uint32Array(Math.max(0, this.L - 1) * this.E * this.E);
    this.itemRows = Array.from({ length: this.L }, () => []);
    this.frequent = Array.from({ length: this.L * this.E }, () => new FrequentTokens(Math.max(32, this.topTokens * 4)));
    this.reservoirs = Array.from({ length: this.L * this.E }, () => ({ seen: 0, kept: [] }));
  }

  get items(): number {
    return this.itemLabels.length;
  }

  private label(name: string): number {
    let index = this.labelIndex.get(name);
    if (index === undefined) {
      index = this.labels.length;
      this.labels.push(name);
      this.labelIndex.set(name, index);
      this.top1.push(new Float64Array(this.L * this.E));
      this.topK.push(new Float64Array(this.L * this.E));
      this.labelTokens.push(0);
    }
    return index;
  }

  snapshot(): AtlasSnapshot {
    return {
      shape: this.shape,
      seed: this.seed,
      labels: [...this.labels],
      top1: this.top1.map((a) => Array.from(a)),
      topK: this.topK.map((a) => Array.from(a)),
      labelTokens: [...this.labelTokens],
      classTop1: Array.from(this.classTop1),
      weightSums: Array.from(this.weightSums),
      ...(this.pairs ? { pairs: Array.from(this.pairs) } : {}),
      transitions: Array.from(this.transitions),
      itemLabels: [...this.itemLabels],
      itemRows: this.itemRows.map((rows) => rows.map((row) => Array.from(row))),
      frequent: this.frequent.map((f) => f.save()),
      reservoirs: this.reservoirs.map((r) => ({ seen: r.seen, kept: [...r.kept] })),
      draws: this.draws,
      tokens: this.tokens,
    };
  }

  /** A builder in the state of `snapshot` (taken with the same options); refused when its shape differs. */
  static restore(snapshot: AtlasSnapshot, options: AtlasOptions = {}): AtlasBuilder {
    const builder = new AtlasBuilder(snapshot.shape, { ...options, seed: snapshot.seed });
    const { L, E } = builder;
    const size = (what: string, values: ArrayLike<unknown> | undefined, n: number) => {
      if (values?.length !== n) throw new RangeError(`the atlas checkpoint's ${what} has ${values?.length} values, not ${n}`);
    };
    size('class counts', snapshot.classTop1, builder.C * L * E);
    size('transitions', snapshot.transitions, builder.transitions.length);
    size('pairs', snapshot.pairs ?? [], builder.pairs?.length ?? 0);
    size('item rows', snapshot.itemRows, L);
    size('token sketches', snapshot.frequent, L * E);
    size('example reservoirs', snapshot.reservoirs, L * E);
    snapshot.labels.forEach((name, i) => {
      builder.label(name);
      size('label counts', snapshot.top1[i], L * E);
      builder.top1[i].set(snapshot.top1[i]);
      builder.topK[i].set(snapshot.topK[i]);
      builder.labelTokens[i] = snapshot.labelTokens[i];
    });
    builder.classTop1.set(snapshot.classTop1);
    builder.weightSums.set(snapshot.weightSums);
    builder.pairs?.set(snapshot.pairs ?? []);
    builder.transitions.set(snapshot.transitions);
    builder.itemLabels.push(...snapshot.itemLabels);
    snapshot.itemRows.forEach((rows, l) => builder.itemRows[l].push(...rows.map((row) => Uint32Array.from(row))));
    snapshot.frequent.forEach((entries, i) => builder.frequent[i].load(entries));
    snapshot.reservoirs.forEach((r, i) => (builder.reservoirs[i] = { seen: r.seen, kept: [...r.kept] }));
    for (let n = 0; n < snapshot.draws; n++) builder.random();
    builder.tokens = snapshot.tokens;
    return builder;
  }

  /** Adds one item's tokens. An item without tokens is not counted (the caller reports it as skipped). */
  add(item: AtlasItem): void {
    const { L, E } = this;
    const k = this.shape.k;
    const n = item.texts.length;
    if (n === 0) return;
    if (item.experts.length !== n * L * k || item.weights.length !== n * L * k)
      throw new RangeError(`item ${item.id}: routing for ${item.experts.length / (L * k)} tokens, texts for ${n}`);
    const label = this.label(item.label);
    const top1 = this.top1[label];
    const topK = this.topK[label];
    const itemTop1 = new Uint32Array(L * E);
    let lines: Int32Array | undefined;
    for (let t = 0; t < n; t++) {
      const cls = tokenClassIndex(item.texts[t]);
      const key = item.ids ? item.ids[t] : -1 - t;
      let previous = -1;
      for (let l = 0; l < L; l++) {
        const base = (t * L + l) * k;
        const first = item.experts[base];
        const cell = l * E + first;
        top1[cell]++;
        itemTop1[cell]++;
        this.classTop1[(cls * L + l) * E + first]++;
        if (previous >= 0) this.transitions[((l - 1) * E + previous) * E + first]++;
        previous = first;
        for (let r = 0; r < k; r++) {
          const w = item.weights[base + r];
          if (!(w > 0)) continue; // a slot of weight 0 (forcing fewer than k experts) routes nothing
          const e = item.experts[base + r];
          topK[l * E + e]++;
          this.weightSums[l * E + e] += w;
          this.frequent[l * E + e].add(item.ids ? key : hashText(item.texts[t]), item.texts[t], w);
          if (this.pairs)
            for (let s = r + 1; s < k; s++) {
              if (!(item.weights[base + s] > 0)) continue;
              const f = item.experts[base + s];
              this.pairs[(l * E + Math.min(e, f)) * E + Math.max(e, f)]++;
            }
        }
        // Reservoir sampling (Algorithm R) of the top-1 tokens' contexts.
        const reservoir = this.reservoirs[cell];
        reservoir.seen++;
        const slot = reservoir.kept.length < this.examples ? reservoir.kept.length : Math.floor(this.random() * reservoir.seen);
        if (slot < this.examples) {
          lines ??= lineStarts(item.texts);
          reservoir.kept[slot] = this.example(item, t, lines[t], item.weights[base]);
        }
      }
    }
    this.labelTokens[label] += n;
    this.tokens += n;
    this.itemLabels.push(label);
    for (let l = 0; l < L; l++) {
      const row: number[] = [];
      for (let e = 0; e < E; e++) if (itemTop1[l * E + e]) row.push(e, itemTop1[l * E + e]);
      this.itemRows[l].push(Uint32Array.from(row));
    }
  }

  private example(item: AtlasItem, t: number, lineOffset: number, weight: number): AtlasExample {
    const from = Math.max(0, t - this.contextTokens);
    const before = item.texts.slice(from, t).join('').slice(-CONTEXT_CHARS);
    const after = item.texts.slice(t + 1, t + 1 + this.contextTokens).join('').slice(0, CONTEXT_CHARS);
    return {
      item: item.id,
      label: item.label,
      ...(item.source ? { file: item.source.file, line: item.source.line + (item.source.textLines ? lineOffset : 0) } : {}),
      before,
      token: item.texts[t],
      after,
      weight,
    };
  }

  /** The figures; P label permutations per layer (seeded). */
  report(permutations: number): AtlasReport {
    const { L, E, C } = this;
    const labels = this.labels;
    const random = seededRandom(this.seed);
    const layers: AtlasLayer[] = [];
    for (let l = 0; l < L; l++) {
      const labelTable = new Float64Array(labels.length * E);
      labels.forEach((_, i) => labelTable.set(this.top1[i].subarray(l * E, (l + 1) * E), i * E));
      const test = permutationTest(this.itemLabels, this.itemRows[l], labels.length, E, labels.length > 1 ? permutations : 0, random);
      const classTable = new Float64Array(C * E);
      for (let c = 0; c < C; c++) classTable.set(this.classTop1.subarray((c * L + l) * E, (c * L + l + 1) * E), c * E);
      const totals = new Float64Array(E);
      for (const counts of this.topK) for (let e = 0; e < E; e++) totals[e] += counts[l * E + e];
      const classInfo = tableInformation(classTable, C, E);
      layers.push({
        layer: this.shape.layers[l],
        tokens: this.tokens,
        counts: byName(labels, (i) => Array.from(this.top1[i].subarray(l * E, (l + 1) * E))),
        countsTopK: byName(labels, (i) => Array.from(this.topK[i].subarray(l * E, (l + 1) * E))),
        miBits: test.miBits,
        chanceBits: test.chanceBits,
        chanceHighBits: test.chanceHighBits,
        pValue: test.pValue,
        normalizedMi: tableInformation(labelTable, labels.length, E).normalized,
        classCounts: byName(TOKEN_CLASSES, (c) => Array.from(classTable.subarray(c * E, (c + 1) * E))),
        classMiBits: classInfo.bits,
        classChanceBits: millerMadowBits(classTable, C, E),
        classNormalizedMi: classInfo.normalized,
        load: loadBalance(totals),
        coactivation: this.pairs ? topPairs(this.pairs.subarray(l * E * E, (l + 1) * E * E), totals, this.tokens) : [],
      });
    }
    const layerToLayer: AtlasLayerLink[] = [];
    for (let l = 0; l + 1 < L; l++) {
      const info = tableInformation(this.transitions.subarray(l * E * E, (l + 1) * E * E), E, E);
      layerToLayer.push({ from: this.shape.layers[l], to: this.shape.layers[l + 1], miBits: info.bits, normalizedMi: info.normalized });
    }
    return {
      items: this.items,
      tokens: this.tokens,
      labels: [...labels],
      labelTokens: byName(labels, (i) => this.labelTokens[i]),
      classes: [...TOKEN_CLASSES],
      experts: E,
      expertsPerToken: this.shape.k,
      permutations,
      seed: this.seed,
      layers,
      layerToLayer,
      cards: this.cards(layers),
    };
  }

  private cards(layers: AtlasLayer[]): AtlasCard[] {
    const { L, E } = this;
    const cards: AtlasCard[] = [];
    for (let l = 0; l < L; l++) {
      const layer = layers[l];
      for (let e = 0; e < E; e++) {
        const chosen = Object.values(layer.countsTopK).reduce((s, row) => s + row[e], 0);
        const top1 = Object.values(layer.counts).reduce((s, row) => s + row[e], 0);
        const frequent = this.frequent[l * E + e];
        cards.push({
          layer: layer.layer,
          expert: e,
          share: layer.load.shares[e],
          top1Share: this.tokens ? top1 / this.tokens : 0,
          meanWeight: chosen ? this.weightSums[l * E + e] / chosen : 0,
          byCount: frequent.top(this.topTokens, 'count'),
          byWeight: frequent.top(this.topTokens, 'weight', 3),
          labelMix: nonZero(layer.counts, e),
          classMix: nonZero(layer.classCounts, e),
          examples: [...this.reservoirs[l * E + e].kept],
        });
      }
    }
    return cards;
  }
}

function byName<T>(names: readonly string[], value: (index: number) => T): Record<string, T> {
  const out: Record<string, T> = {};
  names.forEach((name, i) => (out[name] = value(i)));
  return out;
}

function nonZero(table: Record<string, number[]>, expert: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, row] of Object.entries(table)) if (row[expert] > 0) out[name] = row[expert];
  return out;
}

/** Per token, the 0-based line (within its item) on which it starts. */
function lineStarts(texts: string[]): Int32Array {
  const lines = new Int32Array(texts.length);
  let line = 0;
  for (let t = 0; t < texts.length; t++) {
    lines[t] = line;
    for (const ch of texts[t]) if (ch === '\n') line++;
  }
  return lines;
}

/** A negative key for a token known by its text only (ids are ≥ 0). */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return -1 - (h >>> 1);
}

/** Miller–Madow: the expected MI in bits of an R × C table of N independent draws, (R−1)(C−1)/(2N ln 2). */
function millerMadowBits(table: ArrayLike<number>, rows: number, cols: number): number {
  let n = 0;
  let usedRows = 0;
  const colUsed = new Uint8Array(cols);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const v = table[r * cols + c];
      sum += v;
      if (v > 0) colUsed[c] = 1;
    }
    if (sum > 0) usedRows++;
    n += sum;
  }
  const usedCols = colUsed.reduce((s, v) => s + v, 0);
  return n > 0 ? ((Math.max(0, usedRows - 1) * Math.max(0, usedCols - 1)) / (2 * n)) / Math.LN2 : 0;
}

export function loadBalance(counts: ArrayLike<number>): AtlasLoad {
  const E = counts.length;
  let sum = 0;
  for (let e = 0; e < E; e++) sum += counts[e];
  const shares = Array.from(counts, (c) => (sum > 0 ? c / sum : 0));
  const h = entropyBits(counts);
  const max = Math.max(...shares);
  const min = Math.min(...shares);
  return {
    shares,
    entropyBits: h,
    normalizedEntropy: E > 1 ? h / Math.log2(E) : 1,
    maxMinRatio: min > 0 ? max / min : null,
    underloaded: shares.flatMap((s, e) => (s < 1 / (10 * E) ? [e] : [])),
  };
}

/** The pairs chosen together most above independence (at least 3 times), most over-represented first. */
function topPairs(pairs: ArrayLike<number>, totals: ArrayLike<number>, tokens: number, limit = 10): AtlasPair[] {
  const E = totals.length;
  const out: AtlasPair[] = [];
  for (let a = 0; a < E; a++)
    for (let b = a + 1; b < E; b++) {
      const count = pairs[a * E + b];
      if (count < 3 || !(totals[a] > 0) || !(totals[b] > 0)) continue;
      out.push({ a, b, count, lift: (count * tokens) / (totals[a] * totals[b]) });
    }
  out.sort((x, y) => y.lift - x.lift || y.count - x.count);
  return out.slice(0, limit);
}

export interface AtlasExpertShift {
  expert: number;
  shareA: number;
  shareB: number;
  /** Jensen–Shannon (bits) between the expert's label mix (top-1) in A and in B; null when either has none. */
  labelMixJs: number | null;
}

export interface AtlasLayerShift {
  layer: number;
  /** Jensen–Shannon (bits, 0..1) between the layer's load in A and in B. */
  loadJs: number;
  miBitsA: number;
  miBitsB: number;
  /** Experts whose load share changed by more than half a uniform share, or whose label mix moved (JS > 0.1). */
  moved: AtlasExpertShift[];
}

/** Two atlases of the same shape (two models, another top-k, an intervention): per-layer shift and the experts that moved. */
export function compareAtlases(a: AtlasReport, b: AtlasReport): AtlasLayerShift[] {
  if (a.layers.length !== b.layers.length || a.experts !== b.experts)
    throw new RangeError(`the atlases differ in shape: ${a.layers.length}×${a.experts} and ${b.layers.length}×${b.experts} (MoE layers × experts)`);
  const labels = a.labels.filter((l) => b.labels.includes(l));
  const E = a.experts;
  return a.layers.map((la, i) => {
    const lb = b.layers[i];
    const moved: AtlasExpertShift[] = [];
    for (let e = 0; e < E; e++) {
      const mixA = labels.map((l) => la.counts[l][e]);
      const mixB = labels.map((l) => lb.counts[l][e]);
      const js = labels.length ? jensenShannon(mixA, mixB) : NaN;
      const shift = { expert: e, shareA: la.load.shares[e], shareB: lb.load.shares[e], labelMixJs: Number.isFinite(js) ? js : null };
      if (Math.abs(shift.shareA - shift.shareB) > 0.5 / E || (shift.labelMixJs ?? 0) > 0.1) moved.push(shift);
    }
    moved.sort((x, y) => Math.abs(y.shareB - y.shareA) - Math.abs(x.shareB - x.shareA));
    return { layer: la.layer, loadJs: jensenShannon(la.load.shares, lb.load.shares), miBitsA: la.miBits, miBitsB: lb.miBits, moved };
  });
}
