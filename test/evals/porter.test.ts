import { describe, expect, it } from 'vitest';
import { PorterStemmer, porterStem } from '../../extension/evals/metrics/porter';

// Word/stem pairs from Porter (1980) and NLTK's behaviour.
const PAPER: [string, string][] = [
  ['caresses', 'caress'], ['ponies', 'poni'], ['caress', 'caress'], ['cats', 'cat'],
  ['feed', 'feed'], ['agreed', 'agre'], ['plastered', 'plaster'], ['bled', 'bled'], ['motoring', 'motor'], ['sing', 'sing'],
  ['conflated', 'conflat'], ['troubled', 'troubl'], ['sized', 'size'], ['hopping', 'hop'], ['tanned', 'tan'],
  ['falling', 'fall'], ['hissing', 'hiss'], ['fizzed', 'fizz'], ['failing', 'fail'], ['filing', 'file'],
  ['happy', 'happi'], ['sky', 'sky'],
  ['relational', 'relat'], ['conditional', 'condit'], ['rational', 'ration'], ['valenci', 'valenc'], ['digitizer', 'digit'],
  ['radicalli', 'radic'], ['differentli', 'differ'], ['vileli', 'vile'], ['analogousli', 'analog'],
  ['vietnamization', 'vietnam'], ['predication', 'predic'], ['operator', 'oper'], ['feudalism', 'feudal'],
  ['decisiveness', 'decis'], ['hopefulness', 'hope'], ['callousness', 'callous'], ['formaliti', 'formal'],
  ['sensitiviti', 'sensit'], ['sensibiliti', 'sensibl'], ['triplicate', 'triplic'], ['formative', 'form'],
  ['formalize', 'formal'], ['electriciti', 'electr'], ['electrical', 'electr'], ['hopeful', 'hope'], ['goodness', 'good'],
  ['revival', 'reviv'], ['allowance', 'allow'], ['inference', 'infer'], ['airliner', 'airlin'], ['gyroscopic', 'gyroscop'],
  ['adjustable', 'adjust'], ['defensible', 'defens'], ['irritant', 'irrit'], ['replacement', 'replac'],
  ['adjustment', 'adjust'], ['dependent', 'depend'], ['adoption', 'adopt'], ['communism', 'commun'], ['activate', 'activ'],
  ['angulariti', 'angular'], ['homologous', 'homolog'], ['effective', 'effect'], ['bowdlerize', 'bowdler'],
  ['probate', 'probat'], ['rate', 'rate'], ['cease', 'ceas'], ['controlling', 'control'], ['roll', 'roll'],
  ['generalizations', 'gener'], ['oscillators', 'oscil'], ['running', 'run'], ['experts', 'expert'],
];

describe('Porter stemmer (NLTK default mode, as rouge_score uses it)', () => {
  it.each(PAPER)('%s → %s', (word, stem) => {
    expect(porterStem(word)).toBe(stem);
  });
  it('NLTK extensions: irregular forms, y only after a consonant, logi → log', () => {
    expect(porterStem('dying')).toBe('die');
    expect(porterStem('enjoy')).toBe('enjoy');
    expect(porterStem('flies')).toBe('fli');
    expect(porterStem('dies')).toBe('die');
    expect(porterStem('geology')).toBe('geolog');
  });
  it('lowercases', () => {
    expect(porterStem('Running')).toBe('run');
  });
});

describe('Porter stemmer, ORIGINAL_ALGORITHM mode', () => {
  const original = new PorterStemmer('ORIGINAL_ALGORITHM');
  it('follows the paper where NLTK departs from it', () => {
    expect(original.stem('enjoy')).toBe('enjoi'); // (*v*) Y -> I
    expect(original.stem('dies')).toBe('di'); // IES -> I
    expect(original.stem('dying')).toBe('dy'); // no irregular table
    expect(original.stem('geology')).toBe('geologi'); // no logi rule
    expect(original.stem('conformabli')).toBe('conform'); // ABLI -> ABLE, then ABLE removed
    expect(original.stem('relational')).toBe('relat');
  });
  it('MARTIN_EXTENSIONS keeps logi → log with the plain measure', () => {
    expect(new PorterStemmer('MARTIN_EXTENSIONS').stem('archaeology')).toBe('archaeolog');
  });
});
