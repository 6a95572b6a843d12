// Child process: runs the REAL program (index.ts) once under Pulumi's mock runtime
// (one stack per process, as scripts/lib/program.ts requires) and writes the plan as JSON.
// usage: plan-child.ts IN.json OUT.json   IN = {stack, set, secretSet, previousOutputs?, stateOutputs?, invokeResults?}
import * as fs from "fs";
import { dummyPassword, runProgram } from "../../../scripts/lib/program";

async function main(): Promise<void> {
  const [inFile, outFile] = process.argv.slice(2);
  const req = JSON.parse(fs.readFileSync(inFile, "utf8")) as {
    stack: string;
    set: Record<string, unknown>;
    secretSet: string[];
    previousOutputs?: Record<string, unknown>;
    stateOutputs?: Record<string, Record<string, unknown>>;
    invokeResults?: Record<string, Record<string, unknown>>;
  };
  const plan = await runProgram({
    stack: req.stack,
    set: req.set,
    secretSet: req.secretSet,
    previousOutputs: req.previousOutputs,
    invokeFor: (token) => req.invokeResults?.[token],
    // A rotation (generation bump changes the keepers) gives a new value, as the real provider does.
    outputsFor: (type, name, inputs) => {
      const kept = req.stateOutputs?.[`${type}::${name}`];
      if (kept) return kept;
      if (type !== "random:index/randomPassword:RandomPassword") return undefined;
      const keepers = inputs.keepers as Record<string, string> | undefined;
      return keepers?.generation && keepers.generation !== "1" ? { result: dummyPassword(`${name}gen${keepers.generation}`) } : undefined;
    },
  });
  fs.writeFileSync(outFile, JSON.stringify(plan));
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
