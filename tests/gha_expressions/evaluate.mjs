// Evaluates a job's `if:` as the runner does, with GitHub's own expression parser and evaluator
// (@actions/expressions, from actions/languageservices). Each stdin line: {"expression": "<without ${{ }}>",
// "contexts": {"github": {...}, "needs": {...}, ...}, "status": "success" | "failure" | "cancelled"};
// each stdout line: true or false, or {"error": "..."}. One process answers a whole test session.
import { createInterface } from "node:readline";
import { data, Evaluator, Lexer, Parser } from "@actions/expressions";
import { truthy } from "@actions/expressions/result";
import { TokenType } from "@actions/expressions/lexer";

function evaluate({ expression, contexts, status }) {
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
return truthy(new Evaluator(parsed, context, functions).evaluate());
}

for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    answer = evaluate(JSON.parse(line));
  } catch (error) {
    answer = { error: String(error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
