// The lens's what-if regeneration in the controller (fake engine): same messages and sampling, the intervention
// of the action, both answers and the first token where they part posted to the webview; the conversation unchanged.
import { describe, expect, it, vi } from 'vitest';
import { firstDifference, interventionFor, whatIfLabel } from '../../../extension/chat/what-if';
import { decodeConversation } from '../../../extension/chat/codec';
import type { WhatIfState } from '../../../extension/protocol';
import { frame, result } from './fake-engine';
import { setup as controllerSetup, useFakeClock } from './controller-setup';

function setup() {
  let seed = 7; // like moeLens.seed -1: a new seed each time the settings are read
  const t = controllerSetup({ settings: () => ({ systemPrompt: 'Be brief.', sampling: { maxTokens: 32, seed: seed++, temperature: 0.8 }, captureRouting: true }) });
  const whatIfs = () => t.posts.flatMap((m) => (m.type === 'lens.whatIf' ? [m.whatIf] : []));
  return Object.assign(t, { whatIfs });
}

/** The regenerated answer of the tests: "Help!" (tokens 10, 12), parting from "Hello" (10, 11) at its second token. */
const regeneratesHelp: ReturnType<typeof setup>['engine']['script'] = async (_req, cb) => {
  cb.onFrame?.(frame('prompt', 0, [1, 2, 3], ''));
  cb.onFrame?.(frame('generated', 3, [10], 'Hel'));
  cb.onFrame?.(frame('generated', 4, [12], 'p!'));
  return result('Help!', 'eos', 3, 2);
};

describe('what-if regeneration', () => {
  useFakeClock();

  it('regenerates with the same messages and seed under the intervention and reports where the answers part', async () => {
    const t = setup();
    await t.controller.send('hi');
    const [user, assistant] = t.controller.conversation;
    t.engine.script = regeneratesHelp;
    const state = (await t.controller.whatIf(user.id, 2, 5, 'ablate-layer')) as WhatIfState;
    const request = t.engine.requests[1];
    expect(request.intervention).toEqual({ ablate: { '2': [5] } });
    expect(request.sampling).toEqual(t.engine.requests[0].sampling); // the answer's own seed and the same settings
    expect(assistant.seed).toBe(t.engine.requests[0].sampling!.seed);
    expect(request.input).toEqual(t.engine.requests[0].input);
    expect(request.reuseCache).toBe(false);
    expect(t.whatIfs().map((w) => w.status)).toEqual(['running', 'complete']);
    expect(state.turnId).toBe(assistant.id);
    expect(state.label).toBe('without expert 5 in layer 2');
    expect(state.original).toMatchObject({ text: 'Hello', ids: [10, 11] });
    expect(state.variant).toMatchObject({ text: 'Help!', ids: [10, 12], tokens: ['<10>', '<12>'] });
    expect(state.variant!.routing[0].experts.length).toBe(2 * 2 * 2);
    expect(state.firstDifference).toBe(1);
    // the conversation is as it was
    expect(t.controller.conversation.map((x) => x.content)).toEqual(['hi', 'Hello']);
  });

  it('Keep this answer: the regenerated answer replaces the original in the conversation, is posted and saved', async () => {
    const t = setup();
    await t.controller.send('hi');
    const assistant = t.controller.conversation[1];
    t.engine.script = regeneratesHelp;
    const state = (await t.controller.whatIf(assistant.id, 0, 1, 'ablate-all')) as WhatIfState;
    expect(t.controller.keepWhatIf('unknown')).toBe(false);
    expect(t.controller.keepWhatIf(state.id)).toBe(true);
    const kept = t.controller.conversation[1];
    expect(kept).toMatchObject({ id: assistant.id, role: 'assistant', content: 'Help!', display: 'Help!', status: 'complete', seed: assistant.seed });
    expect(kept.notes).toEqual(['Regenerated without expert 1 in any layer (kept from a what-if).']);
    expect(kept.stats).toBeUndefined();
    expect(kept.routing.flatMap((b) => Array.from(b.ids))).toEqual([10, 12]);
    // The webview replaces the turn (routing included), and the conversation is saved with it.
    expect(t.posts.filter((m) => m.type === 'chat.turnAdded').pop()).toMatchObject({ turn: { id: assistant.id, content: 'Help!' } });
    await vi.advanceTimersByTimeAsync(0);
    expect(decodeConversation(t.saved).map((x) => x.content)).toEqual(['hi', 'Help!']);
    // Kept once: the original it replaced is gone.
    expect(t.controller.keepWhatIf(state.id)).toBe(false);
  });

  it('an engine error is reported on the comparison, not the chat', async () => {
    const t = setup();
    await t.controller.send('hi');
    t.engine.script = async () => {
      throw new Error('layer 9 is not a MoE layer');
    };
    const state = await t.controller.whatIf(t.controller.conversation[1].id, 9, 0, 'force');
    expect(state).toMatchObject({ status: 'error', error: expect.stringMatching(/layer 9/) });
    expect(t.controller.conversation[1].status).toBe('complete');
    expect(t.controller.isBusy).toBe(false);
  });

  it('helpers: interventions, labels, first difference', () => {
    expect(interventionFor('ablate-all', 3, 1)).toEqual({ ablate: { '*': [1] } });
    expect(interventionFor('force', 3, 1)).toEqual({ force: { '3': [1] } });
    expect(whatIfLabel('force', 3, 1)).toBe('with only expert 1 in layer 3');
    expect(firstDifference([1, 2, 3], [1, 2, 3])).toBeNull();
    expect(firstDifference([1, 2, 3], [1, 2])).toBe(2);
    expect(firstDifference([1, 2], [3])).toBe(0);
  });
});
