// One name for an eval run's folder, for the CLI and VS Code alike (no vscode import).

/** The suite's name and the run's start in UTC to the second: "builtin-20261207-120600Z". */
export function runFolderName(suite: string, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '').replace('T', '-');
  return `${suite}-${stamp}`;
}
