// What the built-in demo was trained on (technical prose, Python, shell, markdown), as first texts for it to
// continue: the chat's empty state offers them, the tour sends them, scripts/demo-sampling.ts measures them.
// Pure data: the webview imports it too.

export interface Starter {
  label: string;
  kind: 'prose' | 'markdown' | 'python' | 'shell';
  prompt: string;
}

export const DEMO_STARTERS: readonly Starter[] = [
  { label: 'Prose: a Debian how-to', kind: 'prose', prompt: 'To install the package on a Debian system, run' },
  { label: 'Prose: a module’s purpose', kind: 'prose', prompt: 'The main purpose of the module is' },
  { label: 'Markdown: a README', kind: 'markdown', prompt: '## Installation\n\nTo use this library in your project,' },
  { label: 'Python: a function', kind: 'python', prompt: 'def read_config(path):\n    """Read the configuration file and' },
  { label: 'Shell: a command line', kind: 'shell', prompt: '# Create a new directory and copy the files into it\n$ mkdir' },
];
