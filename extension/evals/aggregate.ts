// Aggregates of a run per model × variant, the Markdown report, and comparisons of several runs.

import { METRICS, SAMPLE_METRICS, formatGroupMetric, formatSampleMetric, metricInfo, metricsIn, type Scored } from './metrics/catalogue';
import { formatMetric } from '../format';
import { runModelName } from './model-name';
import type { Failure, FailureKind } from './metrics/detectors';
import type {
  Distribution,
  GroupSummary,
  LoadedRun,
  RunComparison,
  RunInfo,
  RunSummary,
  SampleRecord,
  ScoreStats,
  SuiteIntervention,
} from './types';

export function distribution(values: number[]): Distribution | undefined {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = xs.length >> 1;
  return {
    n: xs.length,
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    median: xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2,
    min: xs[0],
    max: xs[xs.length - 1],
  };
}

/** Failure rates and the distribution of every per-sample metric of the catalogue; distributions without values are left out. */
export function scoreStats(rows: (Scored & { failures: Failure[] })[]): ScoreStats {
  const rate = (kind?: FailureKind) =>
    rows.length ? rows.filter((x) => (kind ? x.failures.some((f) => f.kind === kind) : x.failures.length > 0)).length / rows.length : 0;
  const stats: ScoreStats = {
    scored: rows.filter((x) => x.metrics?.rouge).length,
    failureRates: { refusal: rate('refusal'), blank: rate('blank'), repetition: rate('repetition'), debris: rate('debris'), any: rate() },
  };
  for (const id of SAMPLE_METRICS) {
    const d = distribution(rows.map((x) => METRICS[id].ofSample!(x)).filter((v): v is number => v !== undefined));
    if (d) stats[id] = d;
  }
  return stats;
}

/** Aggregates of one model × variant (`samples`: that group's samples, all of `model`, at least one). */
export function summarizeGroup(model: string, variant: string, samples: SampleRecord[]): GroupSummary {
  const ok = samples.filter((s) => !s.error && s.metrics);
  const { scored, failureRates, ...distributions } = scoreStats(ok);
  return {
    model,
    modelName: samples[0]?.modelName ?? model,
    variant,
    samples: samples.length,
    errors: samples.filter((s) => s.error).length,
    scored,
    failureRates,
    truncated: ok.filter((s) => s.strategy?.strategy === 'truncate-middle').length,
    mapReduced: ok.filter((s) => s.strategy?.strategy === 'map-reduce').length,
    ...distributions,
  };
}

export function computeSummary(info: RunInfo, samples: SampleRecord[]): RunSummary {
  const models = [...new Set([...info.models, ...samples.map((s) => s.model)])];
  const variants = [...new Set([...info.variants, ...samples.map((s) => s.variant)])];
  const groups: GroupSummary[] = [];
  for (const m of models) {
    for (const v of variants) {
      const mine = samples.filter((s) => s.model === m && s.variant === v);
      if (!mine.length) continue;
      const g = summarizeGroup(m, v, mine);
      // Interventions: the group's and the model's perplexity under it (computed once per run, not per sample).
      const iv = info.variantInterventions?.[v];
      if (iv) g.intervention = iv;
      const ppl = info.perplexity?.[m]?.[iv ?? 'baseline']?.perplexity;
      if (ppl !== undefined) g.perplexity = ppl;
      groups.push(g);
    }
  }
  return { suite: info.suite.name, status: info.status, groups };
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown

function md(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ').replace(/</g, '&lt;');
}
export function renderReport(info: RunInfo, summary: RunSummary, samples: SampleRecord[]): string {
  const out: string[] = [];
  out.push(`# Evaluation: ${md(info.suite.name)}`, '');
  out.push(`- Status: **${info.status}**${info.error ? ` (${md(info.error)})` : ''}`);
  out.push(`- Started: ${info.startedAt}${info.finishedAt ? `, finished: ${info.finishedAt}` : ''}`);
  out.push(`- Models: ${info.models.map((m) => `\`${md(m)}\``).join(', ')}`);
  out.push(`- Variants: ${info.variants.map(md).join(', ')}; mode: ${info.mode}; items: ${info.suite.items}`);
  const g = info.generation;
  out.push(`- Generation: maxTokens ${g.maxTokens}, temperature ${g.temperature}, seed ${g.seed}; long inputs: ${info.longInput.strategy}`);
  out.push(`- Samples: ${info.samples.done} of ${info.samples.total} (${info.samples.errors} errors, ${info.samples.resumed} resumed)`, '');
  // Above the scores: a context beyond a model's training makes them say little about the model.
  for (const w of info.warnings ?? []) out.push(`> **Warning:** ${md(w)}`, '');

  out.push('## Scores', '');
  out.push('ROUGE F-measure ×100, means over the samples that have the value; – where none has it.', '');
  const table = metricsIn('groups');
  const heads = ['Model', 'Variant', 'n', ...table.map((id) => METRICS[id].label), 'Errors'];
  out.push(`| ${heads.join(' | ')} |`);
  out.push(`|---|---|${heads.slice(2).map(() => '---:').join('|')}|`);
  for (const x of summary.groups) {
    const cells = [md(x.modelName), md(x.variant), String(x.samples), ...table.map((id) => formatGroupMetric(id, x)), String(x.errors)];
    out.push(`| ${cells.join(' | ')} |`);
  }
  out.push('');

  if (info.interventions?.length) {
    out.push('## Interventions', '');
    out.push('Each variant also ran under each intervention as `<variant>+<name>`; perplexity of the items\' documents (llama-perplexity\'s definition).', '');
    out.push(`| Model | Intervention | What | ${METRICS.perplexity.label} |`, '|---|---|---|---:|');
    const rows: { name: string; iv?: SuiteIntervention }[] = [{ name: 'baseline' }, ...info.interventions.map((iv) => ({ name: iv.name, iv }))];
    for (const m of info.models) {
      for (const { name, iv } of rows) {
        const parts: string[] = [];
        if (iv?.ablate) parts.push(`ablate ${iv.ablate}`);
        if (iv?.force) parts.push(`force ${iv.force}`);
        if (iv?.expertsPerToken) parts.push(`top-${iv.expertsPerToken}`);
        const what = parts.join(', ');
        const figure = info.perplexity?.[m]?.[name];
        out.push(`| ${md(runModelName(m, info.identities?.[m]))} | ${md(name)} | ${md(what)} | ${formatMetric(figure?.perplexity, METRICS.perplexity.unit)} |`);
      }
    }
    out.push('');
  }

  const flagged = samples.filter((s) => s.failures.length > 0 || s.error);
  if (flagged.length) {
    out.push('## Failures', '');
    out.push('| Item | Model | Variant | Failure | Evidence |', '|---|---|---|---|---|');
    for (const s of flagged) {
      if (s.error) out.push(`| ${md(s.itemId)} | ${md(s.modelName)} | ${md(s.variant)} | error | ${md(s.error)} |`);
      for (const f of s.failures) {
        out.push(`| ${md(s.itemId)} | ${md(s.modelName)} | ${md(s.variant)} | ${f.kind}: ${md(f.message)} | ${md(f.evidence.slice(0, 200))} |`);
      }
    }
    out.push('');
  }

  const columns = summary.groups.map((x) => ({ model: x.model, variant: x.variant, label: `${x.modelName} / ${x.variant}` }));
  const itemIds = [...new Set(samples.map((s) => s.itemId))];
  if (itemIds.length && columns.length) {
    out.push('## Items (ROUGE-L F ×100; flags: R refusal, B blank, P repetition, D code debris, T truncated, M map-reduce)', '');
    out.push(`| Item | ${columns.map((c) => md(c.label)).join(' | ')} |`);
    out.push(`|---|${columns.map(() => '---:').join('|')}|`);
    for (const id of itemIds) {
      const cells = columns.map((c) => {
        const s = samples.find((x) => x.itemId === id && x.model === c.model && x.variant === c.variant);
        if (!s) return '';
        if (s.error) return 'error';
        const flags =
          s.failures.map((f) => ({ refusal: 'R', blank: 'B', repetition: 'P', debris: 'D' })[f.kind]).join('') +
          (s.strategy?.strategy === 'truncate-middle' ? 'T' : s.strategy?.strategy === 'map-reduce' ? 'M' : '');
        return `${formatSampleMetric('rougeL', s)}${flags ? ` ${flags}` : ''}`;
      });
      out.push(`| ${md(id)} | ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison


/** Lines up the model × variant groups of several runs: metric rows and per-item ROUGE-L. */
export function compareRuns(runs: LoadedRun[]): RunComparison {
  const columns: RunComparison['columns'] = [];
  const groups: ReturnType<typeof summarizeGroup>[] = [];
  for (const run of runs) {
    for (const g of run.summary.groups) {
      columns.push({
        run: run.id,
        runDir: run.dir,
        model: g.model,
        modelName: g.modelName,
        variant: g.variant,
        label: runs.length > 1 ? `${run.id}: ${g.modelName} / ${g.variant}` : `${g.modelName} / ${g.variant}`,
      });
      groups.push(g);
    }
  }
  const metrics = metricsIn('compare').map((id) => ({ ...metricInfo(id), values: groups.map((g) => METRICS[id].ofGroup(g)) }));
  // Chart labels that tell the columns apart: the variant alone when every column has the same model, the
  // model alone when every column has the same variant.
  const oneModel = new Set(columns.map((c) => c.model)).size === 1;
  const oneVariant = new Set(columns.map((c) => c.variant)).size === 1;
  for (const c of columns) c.shortLabel = `${runs.length > 1 ? `${c.run}: ` : ''}${oneModel ? c.variant : oneVariant ? c.modelName : `${c.modelName} / ${c.variant}`}`;
  const itemIds: string[] = [];
  const titles = new Map<string, string | undefined>();
  for (const run of runs) for (const s of run.samples) if (!titles.has(s.itemId)) { itemIds.push(s.itemId); titles.set(s.itemId, s.title); }
  const items = itemIds.map((itemId) => {
    const rougeL: (number | undefined)[] = [];
    const failures: string[][] = [];
    columns.forEach((c, i) => {
      const run = runs.find((r) => r.dir === c.runDir)!;
      const s = run.samples.find((x) => x.itemId === itemId && x.model === c.model && x.variant === c.variant);
      rougeL[i] = s && METRICS.rougeL.ofSample!(s);
      failures[i] = s ? [...s.failures.map((f) => f.kind), ...(s.error ? ['error'] : [])] : [];
    });
    const title = titles.get(itemId);
    return { itemId, ...(title ? { title } : {}), rougeL, failures };
  });
  return { columns, metrics, items };
}
