/**
 * Which sampling settings give the built-in demo its most readable text, as the chat runs it (chat template,
 * the answer ending at a blank line, top-k and min-p at their defaults): a grid of temperature × top-p × repeat
 * penalty over prose, markdown, Python and shell prompts, two seeds each. Prints, per setting, the share of
 * generated words in Debian's wamerican list (`apt-get install wamerican`), the share of capital-letter junk words
 * (two or more letters, all capitals), the share of empty answers, the share the eval's repetition detector
 * flags, the mean answer length, and (with --turns) how many earlier messages the context left out:
 *
 *   npx tsx scripts/demo-sampling.ts [--max-tokens 96] [--no-stop] [--turns 1] [--seeds 2]
 *     [--temperatures 0,0.3,0.5,0.7,0.8] [--top-ps 0.9,0.95] [--repeat-penalties 1,1.1,1.3] [--samples out.json]
 *
 * Its figures are in models/demo/README.md ("Sampling: what the chat uses"); the chosen values are
 * TEXT_CONTINUATION_SAMPLING (extension/engine/sampling.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EngineClient } from '../extension/engine/client';
import { demoModelFile } from '../extension/engine/demo-model';
import { detectFailures } from '../extension/evals/metrics/detectors';
import { DEMO_STARTERS } from '../extension/chat/demo-starters';
import { fitConversation, promptBudget } from '../extension/chat/context';
import { DEFAULT_SAMPLING } from '../extension/engine/sampling';
import type { ChatMessage } from '../extension/engine/types';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const MAX_TOKENS = Number(arg('--max-tokens', '96'));
const SAMPLES = arg('--samples', '');
/** --turns N: each prompt opens a conversation of N messages (the next prompts follow), as the chat sends them. */
const TURNS = Number(arg('--turns', '1'));
/** The demo's context (its trained length, which the chat uses). */
const CONTEXT = 512;
/** --no-stop: the answer runs to its length (the chat before its answer ended at a blank line). */
const STOP = process.argv.includes('--no-stop') ? [] : ['\n\n'];
const list = (name: string, fallback: string) => arg(name, fallback).split(',').map(Number);
const SEEDS = Array.from({ length: Number(arg('--seeds', '2')) }, (_, i) => 11 + i);
const TEMPERATURES = list('--temperatures', '0,0.3,0.5,0.7,0.8');
const TOP_PS = list('--top-ps', '0.9,0.95');
const REPEAT_PENALTIES = list('--repeat-penalties', '1,1.1,1.3');
/** The starters, and two prose openings a newcomer types. */
const PROMPTS = [...DEMO_STARTERS, { kind: 'prose', prompt: 'Once upon a time' }, { kind: 'prose', prompt: 'In this chapter we describe how the' }];

const dictionary = new Set(fs.readFileSync('/usr/share/dict/american-english', 'utf8').split('\n').map((w) => w.trim().toLowerCase()).filter(Boolean));
const wordsOf = (text: string) => text.match(/[A-Za-z]+(?:'[a-z]+)?/g) ?? [];

interface Tally {
  words: number;
  known: number;
  caps: number;
  answers: number;
  empty: number;
  repetitive: number;
  tokens: number;
}
const tally = (): Tally => ({ words: 0, known: 0, caps: 0, answers: 0, empty: 0, repetitive: 0, tokens: 0 });
const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}` : '–');

async function main(): Promise<void> {
  const engine = new EngineClient();
  await engine.load({ modelPath: demoModelFile(), threads: 2 });
  const rows: { setting: string; prose: Tally; code: Tally; dropped: number }[] = [];
  const samples: Record<string, { prompt: string; text: string }[]> = {};
  for (const temperature of TEMPERATURES) {
    for (const topP of temperature === 0 ? [1] : TOP_PS) {
      for (const repeatPenalty of REPEAT_PENALTIES) {
        const setting = `T ${temperature} · top-p ${temperature === 0 ? '–' : topP} · repeat ${repeatPenalty}`;
        const row = { setting, prose: tally(), code: tally(), dropped: 0 };
        samples[setting] = [];
        for (const [first, opening] of PROMPTS.entries()) {
          for (const seed of temperature === 0 ? [0] : SEEDS) {
            // A conversation of TURNS messages (this prompt, then the next ones), fitted into the context as the chat does.
            const history: ChatMessage[] = [];
            for (let turn = 0; turn < TURNS; turn++) {
              const starter = turn === 0 ? opening : PROMPTS[(first + turn) % PROMPTS.length];
              const fit = await fitConversation(undefined, history, { role: 'user', content: starter.prompt }, promptBudget(CONTEXT, MAX_TOKENS), (messages) => engine.countTokens({ kind: 'chat', messages }));
              row.dropped += fit.droppedMessages;
              const r = await engine.generate({
                input: { kind: 'chat', messages: fit.messages },
                sampling: { ...DEFAULT_SAMPLING, temperature, topP, repeatPenalty, maxTokens: MAX_TOKENS, seed: seed + turn, stop: STOP },
                captureRouting: false,
              });
              history.push({ role: 'user', content: starter.prompt }, { role: 'assistant', content: r.text });
              const t = starter.kind === 'prose' || starter.kind === 'markdown' ? row.prose : row.code;
              const words = wordsOf(r.text);
              t.answers++;
              t.tokens += r.generatedTokens;
              t.words += words.length;
              t.known += words.filter((w) => dictionary.has(w.toLowerCase()) || dictionary.has(w)).length;
              t.caps += words.filter((w) => w.length >= 2 && /^[A-Z]+$/.test(w)).length;
              if (!r.text.trim()) t.empty++;
              if (detectFailures(r.text).failures.some((f) => f.kind === 'repetition')) t.repetitive++;
              samples[setting].push({ prompt: starter.prompt, text: r.text });
            }
          }
        }
        rows.push(row);
      }
    }
  }
  await engine.dispose();
  console.log(`demo model, chat template, ${STOP.length ? 'stop at a blank line' : 'no stop'}, ≤ ${MAX_TOKENS} tokens; ${PROMPTS.length} prompts × ${SEEDS.length} seeds (greedy: 1) × ${TURNS} turns`);
  console.log('| setting | prose+markdown: dictionary words % | capital junk % | empty % | repetitive % | tokens | code+shell: dictionary words % | empty % | tokens | earlier messages left out |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const { setting, prose: p, code: c, dropped } of rows) {
    console.log(`| ${setting} | ${pct(p.known, p.words)} | ${pct(p.caps, p.words)} | ${pct(p.empty, p.answers)} | ${pct(p.repetitive, p.answers)} | ${(p.tokens / p.answers).toFixed(0)} | ${pct(c.known, c.words)} | ${pct(c.empty, c.answers)} | ${(c.tokens / c.answers).toFixed(0)} | ${dropped} |`);
  }
  if (SAMPLES) fs.writeFileSync(path.resolve(SAMPLES), JSON.stringify(samples, null, 1));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
