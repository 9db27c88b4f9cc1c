// A multi-step prompt (pickers and text boxes) that keeps VS Code's quick input open from one step to the next.
//
// Why: when a quick pick closes, VS Code hands focus back to where it came from. If that is a webview (the chat),
// the webview takes focus asynchronously, after the next picker has opened, and the keys the user types next land
// in the webview. Each step here is shown before the previous one is disposed, so the quick input never closes
// between steps and focus never leaves it. Steps after the first have a Back button.
import * as vscode from 'vscode';

/** Returned by a step when the user pressed Back. */
export const BACK = Symbol('back');
/** A step's answer, BACK, or undefined when the user closed the prompt. */
export type StepAnswer<T> = T | typeof BACK | undefined;

type StepInput = vscode.QuickPick<vscode.QuickPickItem> | vscode.InputBox;

/** Where a step is in its prompt: "step of total" in the title bar; steps after the first get a Back button. */
interface StepPosition {
  title: string;
  step?: number;
  of?: number;
}

export interface PickStep<T extends vscode.QuickPickItem> extends StepPosition {
  items: readonly T[];
  placeholder?: string;
}

export interface TextStep extends StepPosition {
  prompt: string;
  value?: string;
  password?: boolean;
  placeholder?: string;
  validate?: (value: string) => string | undefined;
}

export class QuickSteps implements vscode.Disposable {
  private current: StepInput | undefined;
  /** Inputs hidden by this class (replaced by the next step, or close()): their hiding is not the user's. */
  private readonly released = new WeakSet<vscode.QuickInput>();
  private closedByUser = false;

  /** The user closed the prompt while a step's answer was being worked on: no later step is shown. */
  get closed(): boolean {
    return this.closedByUser;
  }

  /** One item. */
  async one<T extends vscode.QuickPickItem>(spec: PickStep<T>): Promise<StepAnswer<T>> {
    const answer = await this.pick(spec, false);
    return answer === BACK || answer === undefined ? answer : answer[0];
  }

  /** At least one item (Enter with none checked keeps the step open). */
  many<T extends vscode.QuickPickItem>(spec: PickStep<T>): Promise<StepAnswer<readonly T[]>> {
    return this.pick(spec, true);
  }

  text(spec: TextStep): Promise<StepAnswer<string>> {
    const box = vscode.window.createInputBox();
    this.setCommon(box, spec);
    box.prompt = spec.prompt;
    box.value = spec.value ?? '';
    box.password = !!spec.password;
    box.placeholder = spec.placeholder;
    const check = (value: string) => (box.validationMessage = spec.validate?.(value));
    check(box.value);
    return this.run<string>(box, (resolve, subs) => {
      subs.push(
        box.onDidChangeValue(check),
        box.onDidAccept(() => {
          if (!spec.validate?.(box.value)) resolve(box.value);
        }),
      );
    });
  }

  /** Closes the prompt (before a file dialog, or when the work starts); a later step opens it again. */
  close(): void {
    if (this.current) {
      this.released.add(this.current);
      this.current.dispose();
    }
    this.current = undefined;
  }

  dispose(): void {
    this.close();
  }

  private pick<T extends vscode.QuickPickItem>(spec: PickStep<T>, many: boolean): Promise<StepAnswer<readonly T[]>> {
    const pick = vscode.window.createQuickPick<T>();
    this.setCommon(pick, spec);
    pick.placeholder = spec.placeholder;
    pick.canSelectMany = many;
    pick.matchOnDescription = true;
    pick.items = spec.items;
    // createQuickPick ignores items' `picked`: the checked items are set here.
    if (many) pick.selectedItems = spec.items.filter((i) => i.picked);
    return this.run<readonly T[]>(pick, (resolve, subs) => {
      subs.push(
        pick.onDidAccept(() => {
          const chosen = many ? pick.selectedItems : pick.activeItems.slice(0, 1);
          if (chosen.length) resolve(chosen);
          else if (many) pick.placeholder = 'Check at least one, then press Enter';
        }),
      );
    });
  }

  private setCommon(input: StepInput, { title, step, of }: StepPosition): void {
    input.title = title;
    input.step = step;
    input.totalSteps = of;
    input.ignoreFocusOut = true;
    if (step && step > 1) input.buttons = [vscode.QuickInputButtons.Back];
  }

  /** Shows `input` in place of the current step, then disposes that one: the quick input stays open throughout. */
  private run<T>(input: StepInput, wire: (resolve: (answer: T) => void, subs: vscode.Disposable[]) => void): Promise<StepAnswer<T>> {
    if (this.closedByUser) {
      input.dispose();
      return Promise.resolve(undefined);
    }
    return new Promise<StepAnswer<T>>((resolve) => {
      const subs: vscode.Disposable[] = [];
      let settled = false;
      const finish = (answer: StepAnswer<T>) => {
        if (settled) return;
        settled = true;
        subs.forEach((d) => d.dispose());
        // Answered: the step stays on screen, busy, until the next one replaces it or close().
        if (answer !== undefined) {
          input.busy = true;
          input.enabled = false;
        }
        resolve(answer);
      };
      wire((answer) => finish(answer), subs);
      subs.push(
        input.onDidTriggerButton((button) => {
          if (button === vscode.QuickInputButtons.Back) finish(BACK);
        }),
      );
      // Lives as long as the input (disposing it ends its events): Escape on an answered, busy step cancels the rest.
      input.onDidHide(() => {
        if (this.released.has(input)) return;
        if (this.current === input) this.current = undefined;
        if (settled) this.closedByUser = true;
        else finish(undefined);
      });
      const previous = this.current;
      if (previous) this.released.add(previous);
      this.current = input;
      input.show();
      previous?.dispose();
    });
  }
}
