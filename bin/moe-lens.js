#!/usr/bin/env node
// The `moe-lens` CLI (built by `npm run build` into dist/cli.js).
const { main } = require('../dist/cli.js');
main(process.argv.slice(2)).then((code) => {
  // A command may have set its own exit status (`eval` cancelled with Ctrl-C: 130); an error code wins.
  if (code !== 0 || process.exitCode === undefined) process.exitCode = code;
});
