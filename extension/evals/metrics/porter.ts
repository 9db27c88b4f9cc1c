// Porter stemmer, a TypeScript port of the behaviour of NLTK's `nltk.stem.porter.PorterStemmer`, with its three modes.
// Google's `rouge_score` calls `PorterStemmer()` (NLTK's default, NLTK_EXTENSIONS) on lowercase [a-z0-9] tokens
// longer than 3 characters; that is what `stem()` does by default. ORIGINAL_ALGORITHM follows Porter (1980) as NLTK
// implements it, MARTIN_EXTENSIONS the frozen versions on Martin Porter's site.

export type PorterMode = 'NLTK_EXTENSIONS' | 'MARTIN_EXTENSIONS' | 'ORIGINAL_ALGORITHM';

interface Rule {
  suffix: string;
  replacement: string;
  condition?: (stem: string) => boolean;
  /** The "*d" pseudo-suffix: ends with a double consonant. */
  doubleConsonant?: boolean;
}

const IRREGULAR: Record<string, string[]> = {
  sky: ['sky', 'skies'],
  die: ['dying'],
  lie: ['lying'],
  tie: ['tying'],
  news: ['news'],
  inning: ['innings', 'inning'],
  outing: ['outings', 'outing'],
  canning: ['cannings', 'canning'],
  howe: ['howe'],
  proceed: ['proceed'],
  exceed: ['exceed'],
  succeed: ['succeed'],
};

function isVowelLetter(c: string): boolean {
  return c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u';
}

export class PorterStemmer {
  private readonly pool = new Map<string, string>();

  constructor(readonly mode: PorterMode = 'NLTK_EXTENSIONS') {
    if (mode === 'NLTK_EXTENSIONS') {
      for (const [key, forms] of Object.entries(IRREGULAR)) for (const form of forms) this.pool.set(form, key);
    }
  }

  private isConsonant(word: string, i: number): boolean {
    // y is a consonant at the start or after a vowel; iterate instead of recursing on long y-runs.
    let consonant = true;
    let j = i;
    // Find the start of the run of y's ending at i.
    while (j > 0 && word[j] === 'y') j--;
    for (let p = j; p <= i; p++) {
      const c = word[p];
      if (isVowelLetter(c)) consonant = false;
      else if (c === 'y') consonant = p === 0 ? true : !consonant;
      else consonant = true;
    }
    return consonant;
  }

  private measure(stem: string): number {
    let m = 0;
    let prevVowel = false;
    for (let i = 0; i < stem.length; i++) {
      const cons = this.isConsonant(stem, i);
      if (cons && prevVowel) m++;
      prevVowel = !cons;
    }
    return m;
  }

  private hasPositiveMeasure = (stem: string): boolean => this.measure(stem) > 0;

  private containsVowel(stem: string): boolean {
    for (let i = 0; i < stem.length; i++) if (!this.isConsonant(stem, i)) return true;
    return false;
  }

  private endsDoubleConsonant(word: string): boolean {
    const n = word.length;
    return n >= 2 && word[n - 1] === word[n - 2] && this.isConsonant(word, n - 1);
  }

  private endsCvc(word: string): boolean {
    const n = word.length;
    return (
      (n >= 3 &&
        this.isConsonant(word, n - 3) &&
        !this.isConsonant(word, n - 2) &&
        this.isConsonant(word, n - 1) &&
        !['w', 'x', 'y'].includes(word[n - 1])) ||
      (this.mode === 'NLTK_EXTENSIONS' && n === 2 && !this.isConsonant(word, 0) && this.isConsonant(word, 1))
    );
  }

  private applyRuleList(word: string, rules: Rule[]): string {
    for (const rule of rules) {
      if (rule.doubleConsonant) {
        if (this.endsDoubleConsonant(word)) {
          const stem = word.slice(0, -2);
          if (!rule.condition || rule.condition(stem)) return stem + rule.replacement;
          return word;
        }
        continue;
      }
      if (word.endsWith(rule.suffix)) {
        const stem = rule.suffix === '' ? word : word.slice(0, -rule.suffix.length);
        if (!rule.condition || rule.condition(stem)) return stem + rule.replacement;
        return word;
      }
    }
    return word;
  }

  private step1a(word: string): string {
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ies') && word.length === 4) return word.slice(0, -3) + 'ie';
    return this.applyRuleList(word, [
      { suffix: 'sses', replacement: 'ss' },
      { suffix: 'ies', replacement: 'i' },
      { suffix: 'ss', replacement: 'ss' },
      { suffix: 's', replacement: '' },
    ]);
  }

  private step1b(word: string): string {
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('ied')) {
      return word.length === 4 ? word.slice(0, -3) + 'ie' : word.slice(0, -3) + 'i';
    }
    if (word.endsWith('eed')) {
      const stem = word.slice(0, -3);
      return this.measure(stem) > 0 ? stem + 'ee' : word;
    }
    let intermediate: string | undefined;
    for (const suffix of ['ed', 'ing']) {
      if (word.endsWith(suffix)) {
        const candidate = word.slice(0, -suffix.length);
        if (this.containsVowel(candidate)) {
          intermediate = candidate;
          break;
        }
      }
    }
    if (intermediate === undefined) return word;
    const last = intermediate[intermediate.length - 1];
    return this.applyRuleList(intermediate, [
      { suffix: 'at', replacement: 'ate' },
      { suffix: 'bl', replacement: 'ble' },
      { suffix: 'iz', replacement: 'ize' },
      { suffix: '*d', replacement: last, doubleConsonant: true, condition: () => !['l', 's', 'z'].includes(last) },
      { suffix: '', replacement: 'e', condition: (stem) => this.measure(stem) === 1 && this.endsCvc(stem) },
    ]);
  }

  private step1c(word: string): string {
    const condition =
      this.mode === 'NLTK_EXTENSIONS'
        ? (stem: string) => stem.length > 1 && this.isConsonant(stem, stem.length - 1)
        : (stem: string) => this.containsVowel(stem);
    return this.applyRuleList(word, [{ suffix: 'y', replacement: 'i', condition }]);
  }

  private step2(word: string): string {
    const pos = this.hasPositiveMeasure;
    if (this.mode === 'NLTK_EXTENSIONS' && word.endsWith('alli') && pos(word.slice(0, -4))) {
      return this.step2(word.slice(0, -4) + 'al');
    }
    const rules: Rule[] = [
      { suffix: 'ational', replacement: 'ate', condition: pos },
      { suffix: 'tional', replacement: 'tion', condition: pos },
      { suffix: 'enci', replacement: 'ence', condition: pos },
      { suffix: 'anci', replacement: 'ance', condition: pos },
      { suffix: 'izer', replacement: 'ize', condition: pos },
      this.mode === 'ORIGINAL_ALGORITHM'
        ? { suffix: 'abli', replacement: 'able', condition: pos }
        : { suffix: 'bli', replacement: 'ble', condition: pos },
      { suffix: 'alli', replacement: 'al', condition: pos },
      { suffix: 'entli', replacement: 'ent', condition: pos },
      { suffix: 'eli', replacement: 'e', condition: pos },
      { suffix: 'ousli', replacement: 'ous', condition: pos },
      { suffix: 'ization', replacement: 'ize', condition: pos },
      { suffix: 'ation', replacement: 'ate', condition: pos },
      { suffix: 'ator', replacement: 'ate', condition: pos },
      { suffix: 'alism', replacement: 'al', condition: pos },
      { suffix: 'iveness', replacement: 'ive', condition: pos },
      { suffix: 'fulness', replacement: 'ful', condition: pos },
      { suffix: 'ousness', replacement: 'ous', condition: pos },
      { suffix: 'aliti', replacement: 'al', condition: pos },
      { suffix: 'iviti', replacement: 'ive', condition: pos },
      { suffix: 'biliti', replacement: 'ble', condition: pos },
    ];
    if (this.mode === 'NLTK_EXTENSIONS') {
      rules.push({ suffix: 'fulli', replacement: 'ful', condition: pos });
      // The 'l' of 'logi' -> 'log' stays with the stem for the measure.
      rules.push({ suffix: 'logi', replacement: 'log', condition: () => pos(word.slice(0, -3)) });
    }
    if (this.mode === 'MARTIN_EXTENSIONS') rules.push({ suffix: 'logi', replacement: 'log', condition: pos });
    return this.applyRuleList(word, rules);
  }

  private step3(word: string): string {
    const pos = this.hasPositiveMeasure;
    return this.applyRuleList(word, [
      { suffix: 'icate', replacement: 'ic', condition: pos },
      { suffix: 'ative', replacement: '', condition: pos },
      { suffix: 'alize', replacement: 'al', condition: pos },
      { suffix: 'iciti', replacement: 'ic', condition: pos },
      { suffix: 'ical', replacement: 'ic', condition: pos },
      { suffix: 'ful', replacement: '', condition: pos },
      { suffix: 'ness', replacement: '', condition: pos },
    ]);
  }

  private step4(word: string): string {
    const gt1 = (stem: string) => this.measure(stem) > 1;
    const rules: Rule[] = ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent'].map((s) => ({
      suffix: s,
      replacement: '',
      condition: gt1,
    }));
    rules.push({
      suffix: 'ion',
      replacement: '',
      condition: (stem) => this.measure(stem) > 1 && (stem.endsWith('s') || stem.endsWith('t')),
    });
    for (const s of ['ou', 'ism', 'ate', 'iti', 'ous', 'ive', 'ize']) rules.push({ suffix: s, replacement: '', condition: gt1 });
    return this.applyRuleList(word, rules);
  }

  private step5a(word: string): string {
    if (word.endsWith('e')) {
      const stem = word.slice(0, -1);
      const m = this.measure(stem);
      if (m > 1) return stem;
      if (m === 1 && !this.endsCvc(stem)) return stem;
    }
    return word;
  }

  private step5b(word: string): string {
    return this.applyRuleList(word, [
      { suffix: 'll', replacement: 'l', condition: () => this.measure(word.slice(0, -1)) > 1 },
    ]);
  }

  stem(word: string, toLowercase = true): string {
    let stem = toLowercase ? word.toLowerCase() : word;
    if (this.mode === 'NLTK_EXTENSIONS' && this.pool.has(word)) return this.pool.get(stem) ?? stem;
    if (this.mode !== 'ORIGINAL_ALGORITHM' && word.length <= 2) return stem;
    stem = this.step1a(stem);
    stem = this.step1b(stem);
    stem = this.step1c(stem);
    stem = this.step2(stem);
    stem = this.step3(stem);
    stem = this.step4(stem);
    stem = this.step5a(stem);
    stem = this.step5b(stem);
    return stem;
  }
}

const defaultStemmer = new PorterStemmer('NLTK_EXTENSIONS');

/** Stems one word the way `rouge_score` does (NLTK's default Porter mode). */
export function porterStem(word: string): string {
  return defaultStemmer.stem(word);
}
