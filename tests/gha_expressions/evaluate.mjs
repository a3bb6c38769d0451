// Evaluates a job's `if:` as the runner does, with GitHub's own expression parser and evaluator
// (@actions/expressions, from actions/languageservices). stdin: {"expression": "<without ${{ }}>",
// "contexts": {"github": {...}, "needs": {...}, ...}, "status": "success" | "failure" | "cancelled"};
// stdout: true or false.
import { readFileSync } from "node:fs";
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import { truthy } from "@actions/expressions/result";
import { TokenType } from "@actions/expressions/lexer";

const { expression, contexts, status } = JSON.parse(readFileSync(0, "utf8"));
// The job status functions (GitHub docs, "Status check functions"): needs' outcome and the run's cancellation.
const statusOf = {
  success: status === "success",
  failure: status === "failure",
  cancelled: status === "cancelled",
  always: true,
};
const functions = new Map(Object.entries(statusOf).map(([name, value]) => [
  name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value) },
]));

let tokens = new Lexer(expression).lex().tokens;
const callsStatus = tokens.some((t, i) => t.type === TokenType.IDENTIFIER && t.lexeme.toLowerCase() in statusOf
  && tokens[i + 1]?.type === TokenType.LEFT_PAREN);
// "A default status check of success() is applied unless you include one of these functions."
if (!callsStatus) tokens = new Lexer(`success() && (${expression})`).lex().tokens;

const parsed = new Parser(tokens, Object.keys(contexts), [...functions.values()]).parse();
const context = JSON.parse(JSON.stringify(contexts), data.reviver);
process.stdout.write(JSON.stringify(truthy(new Evaluator(parsed, context, functions).evaluate())) + "\n");
