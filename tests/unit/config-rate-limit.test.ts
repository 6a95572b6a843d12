// Rate-limit config: defaults from the sizing arithmetic, bounds, and the refusal of a limit
// below the stack's stated webhook rate (one message naming the key and the fix).
import { strict as assert } from "assert";
import { ConfigError, parseConfig } from "../../core/config";
import { VM_RAW } from "../fixtures/config";
import { DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_MS } from "../../core/app-contract";

const base: Record<string, string> = { ...VM_RAW };
const parse = (over: Record<string, string>) => parseConfig({ ...base, ...over }, new Set(["vmSshPrivateKey"]));
function problem(over: Record<string, string>, key: string): string {
  try {
    parse(over);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    const p = e.problems.find((x) => x.key === key);
    assert.ok(p, `no problem for ${key}: ${e.message}`);
    return p.message;
  }
  assert.fail(`accepted ${JSON.stringify(over)}`);
}

describe("config: rate limit", () => {
  it("defaults to the sized limit (not the app's 100/min)", () => {
    assert.deepEqual(parse({}).app.rateLimit, { max: DEFAULT_RATE_LIMIT_MAX, windowMs: DEFAULT_RATE_LIMIT_WINDOW_MS, expectedWebhooksPerMinute: 0 });
    assert.equal(DEFAULT_RATE_LIMIT_MAX, 10000);
  });
  it("takes the configured values", () => {
    assert.deepEqual(parse({ rateLimitMax: "27000", rateLimitWindowMs: "60000", expectedWebhooksPerMinute: "12000" }).app.rateLimit, {
      max: 27000,
      windowMs: 60000,
      expectedWebhooksPerMinute: 12000,
    });
  });
  it("refuses a limit below the stated webhook rate, naming the key and the fix", () => {
    const m = problem({ rateLimitMax: "100", expectedWebhooksPerMinute: "1200" }, "rateLimitMax");
    assert.match(m, /below the expected webhook rate \(expectedWebhooksPerMinute 1200 = 1200 per window\)/);
    assert.match(m, /Fix: pulumi config set rateLimitMax 3000\b/);
  });
  it("scales the stated per-minute rate to the window", () => {
    // 600/min over a 10 s window is 100 per window: 100 passes, 99 does not.
    assert.equal(parse({ rateLimitMax: "100", rateLimitWindowMs: "10000", expectedWebhooksPerMinute: "600" }).app.rateLimit.max, 100);
    assert.match(
      problem({ rateLimitMax: "99", rateLimitWindowMs: "10000", expectedWebhooksPerMinute: "600" }, "rateLimitMax"),
      /Fix: pulumi config set rateLimitMax/,
    );
  });
  it("without a stated rate, any limit in bounds is accepted (the operator's choice)", () => {
    assert.equal(parse({ rateLimitMax: "100" }).app.rateLimit.max, 100);
  });
  it("refuses values out of bounds", () => {
    assert.match(problem({ rateLimitMax: "0" }, "rateLimitMax"), /whole number/);
    assert.match(problem({ rateLimitWindowMs: "10" }, "rateLimitWindowMs"), /whole number from 1000/);
    assert.match(problem({ expectedWebhooksPerMinute: "-1" }, "expectedWebhooksPerMinute"), /whole number/);
  });
});
