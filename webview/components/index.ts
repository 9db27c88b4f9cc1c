// The one place that knows about @vscode/webview-ui-toolkit (archived upstream). Everything else builds UI
// through these helpers, so moving to another component set (or plain elements) touches only this folder.
//
// Elements are created by tag name; if the toolkit cannot register (e.g. in a test DOM), the elements stay
// plain unknown elements that still carry attributes, text, `value` and events, so the UI keeps working.

// Must run before the toolkit module is evaluated (it probes :focus-visible with a <style> at import).
import './csp-nonce';
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDropdown,
  vsCodeOption,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
  vsCodeTextArea,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/**
 * Whether the DOM supports what the toolkit's design tokens need (constructable stylesheets whose rules
 * expose a CSSOM `style`). Real browsers do; test DOMs like happy-dom may not, and then the toolkit throws
 * asynchronously, so we check first.
 */
function toolkitSupported(): boolean {
  // happy-dom / jsdom implement too little CSSOM for FAST's design tokens (they fail asynchronously).
  if (/HappyDOM|jsdom/i.test(globalThis.navigator?.userAgent ?? '')) return false;
  try {
    const sheet = new CSSStyleSheet();
    sheet.insertRule(':root{}', 0);
    const rule = sheet.cssRules[0] as CSSStyleRule | undefined;
    return typeof rule?.style?.setProperty === 'function' && 'adoptedStyleSheets' in document;
  } catch {
    return false;
  }
}

/** Register the toolkit's custom elements once. Safe to call many times; never throws. */
export function registerComponents(): void {
  if (registered) return;
  registered = true;
  if (!toolkitSupported()) {
    console.debug('MoE Lens: this DOM cannot host webview-ui-toolkit; using plain elements');
    return;
  }
  try {
    provideVSCodeDesignSystem().register(
      vsCodeButton(),
      vsCodeDropdown(),
      vsCodeOption(),
      vsCodePanels(),
      vsCodePanelTab(),
      vsCodePanelView(),
      vsCodeTextArea(),
    );
  } catch (error) {
    console.warn('MoE Lens: webview-ui-toolkit unavailable, using plain elements', error);
  }
}

type Attrs = Record<string, string | number | boolean | undefined>;

export function setAttrs(el: Element, attrs: Attrs): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) el.removeAttribute(k);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

/** A plain element with attributes and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export interface ButtonOptions {
  testid?: string;
  title?: string;
  appearance?: 'primary' | 'secondary' | 'icon';
  disabled?: boolean;
  onClick?: (event: MouseEvent) => void;
  attrs?: Attrs;
}

export function button(label: string, options: ButtonOptions = {}): HTMLElement {
  const el = document.createElement('vscode-button');
  setAttrs(el, {
    'data-testid': options.testid,
    title: options.title,
    'aria-label': options.appearance === 'icon' ? (options.title ?? label) : undefined,
    appearance: options.appearance,
    disabled: options.disabled,
    ...options.attrs,
  });
  el.textContent = label;
  if (options.onClick) el.addEventListener('click', (e) => {
    if (el.hasAttribute('disabled')) return;
    options.onClick!(e as MouseEvent);
  });
  return el;
}

export function setDisabled(el: Element, disabled: boolean): void {
  if (disabled === el.hasAttribute('disabled')) return;
  if (disabled) el.setAttribute('disabled', '');
  else el.removeAttribute('disabled');
}

/** Set an attribute only when its value changes (toolkit elements re-render on every attribute write). */
export function setAttr(el: Element, name: string, value: string | null): void {
  if (el.getAttribute(name) === value) return;
  if (value === null) el.removeAttribute(name);
  else el.setAttribute(name, value);
}

/** Set `hidden` only when it changes. */
export function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}

/** Set text only when it changes. */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export interface DropdownOption {
  value: string;
  label: string;
}

export interface Dropdown {
  el: HTMLElement;
  setOptions(options: DropdownOption[], value: string): void;
  get value(): string;
  set value(v: string);
}

/** A single-choice dropdown. `onChange` fires on user changes only (not on `value =` / `setOptions`). */
export function dropdown(options: { testid?: string; label: string; onChange: (value: string) => void }): Dropdown {
  const el = document.createElement('vscode-dropdown') as HTMLElement & { value?: string };
  setAttrs(el, { 'data-testid': options.testid, 'aria-label': options.label, title: options.label, position: 'below' });
  let current = '';
  let muted = false;
  el.addEventListener('change', () => {
    if (muted) return;
    const v = String(el.value ?? '');
    if (v === current) return;
    current = v;
    options.onChange(v);
  });
  const setValue = (v: string) => {
    current = v;
    muted = true;
    try {
      el.value = v;
      for (const o of Array.from(el.children)) {
        if ((o as HTMLElement).getAttribute('value') === v) o.setAttribute('selected', '');
        else o.removeAttribute('selected');
      }
    } finally {
      muted = false;
    }
  };
  return {
    el,
    setOptions(list, value) {
      const same =
        el.children.length === list.length &&
        list.every((o, i) => el.children[i].getAttribute('value') === o.value && el.children[i].textContent === o.label);
      if (!same) {
        muted = true;
        try {
          el.replaceChildren(
            ...list.map((o) => {
              const opt = document.createElement('vscode-option');
              opt.setAttribute('value', o.value);
              opt.textContent = o.label;
              return opt;
            }),
          );
        } finally {
          muted = false;
        }
      }
      setValue(value);
    },
    get value() {
      return current;
    },
    set value(v: string) {
      setValue(v);
    },
  };
}

export interface TextArea {
  el: HTMLElement;
  get value(): string;
  set value(v: string);
  focus(): void;
}

export function textArea(options: { testid?: string; placeholder: string; label: string }): TextArea {
  const el = document.createElement('vscode-text-area') as HTMLElement & { value?: string };
  setAttrs(el, { 'data-testid': options.testid, placeholder: options.placeholder, 'aria-label': options.label, resize: 'vertical', rows: 3 });
  return {
    el,
    get value() {
      return String(el.value ?? '');
    },
    set value(v: string) {
      el.value = v;
    },
    focus() {
      // The toolkit's text area delegates focus to its inner <textarea>.
      const inner = el.shadowRoot?.querySelector('textarea');
      (inner ?? el).focus();
    },
  };
}

export interface Tabs {
  el: HTMLElement;
  /** The panel element of a tab, to render into. */
  view(id: string): HTMLElement;
  select(id: string): void;
}

/** Tabs (vscode-panels). `onSelect` fires when the user picks a tab. */
export function tabs(options: { testid?: string; label: string; tabs: { id: string; label: string }[]; selected: string; onSelect: (id: string) => void }): Tabs {
  const el = document.createElement('vscode-panels');
  setAttrs(el, { 'data-testid': options.testid, 'aria-label': options.label, activeid: `tab-${options.selected}` });
  const views = new Map<string, HTMLElement>();
  const tabEls = new Map<string, HTMLElement>();
  for (const t of options.tabs) {
    const tab = document.createElement('vscode-panel-tab');
    setAttrs(tab, { id: `tab-${t.id}`, 'data-testid': `${options.testid ?? 'tab'}-${t.id}` });
    tab.textContent = t.label;
    tab.addEventListener('click', () => options.onSelect(t.id));
    tabEls.set(t.id, tab);
    el.append(tab);
  }
  for (const t of options.tabs) {
    const view = document.createElement('vscode-panel-view');
    setAttrs(view, { id: `view-${t.id}`, 'data-testid': `${options.testid ?? 'tab'}-view-${t.id}` });
    views.set(t.id, view);
    el.append(view);
  }
  el.addEventListener('change', (e) => {
    const active = (e.target as HTMLElement & { activeid?: string }).activeid ?? el.getAttribute('activeid') ?? '';
    const id = active.replace(/^tab-/, '');
    if (views.has(id)) options.onSelect(id);
  });
  return {
    el,
    view: (id) => views.get(id)!,
    select(id) {
      el.setAttribute('activeid', `tab-${id}`);
      (el as HTMLElement & { activeid?: string }).activeid = `tab-${id}`;
      for (const [tid, v] of views) {
        if (tid === id) v.removeAttribute('hidden');
        else v.setAttribute('hidden', '');
      }
    },
  };
}
