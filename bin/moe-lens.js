#!/usr/bin/env node
// The `moe-lens` CLI (built by `npm run build` into dist/cli.js).
const { main } = require('../dist/cli.js');
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
