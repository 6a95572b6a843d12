// TTN-style webhook load through Caddy (HTTPS on loopback, SNI/Host = the stack's domain).
// No retries by default: a refused or failed POST is a lost reading, as with TTN.
import * as https from "https";
import { DOMAIN } from "../harness";

export interface LoadResult {
  sent: number;
  acked: number;
  failed: number;
  failures: Record<string, number>;
  retries: number;
  /** 2xx answers whose echoed reading is not the one sent. */
  mixups: number;
  seconds: number;
  rate: number;
}

export interface Target {
  port: number;
  ca?: string;
}

export function httpsRequest(t: Target, method: string, path: string, body?: string, agent?: https.Agent, timeoutMs = 15000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: t.port,
        servername: DOMAIN,
        method,
        path,
        headers: { Host: DOMAIN, ...(body ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } : {}) },
        ca: t.ca,
        rejectUnauthorized: !!t.ca,
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        let data = "";
        res.on("data", (d: Buffer) => (data += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

export function uplink(device: string, fCnt: number): string {
  return JSON.stringify({
    end_device_ids: { device_id: device, application_ids: { application_id: "freshtrack-e2e" } },
    received_at: new Date().toISOString(),
    uplink_message: { f_port: 1, f_cnt: fCnt, decoded_payload: { temperature: 2 + (fCnt % 50) / 10 } },
  });
}

/** Posts `rate` readings per second for device `device` until stop() is called. */
export class LoadGenerator {
  private timer?: NodeJS.Timeout;
  private inFlight = new Set<Promise<void>>();
  private t0 = 0;
  private seq = 0;
  private readonly agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
  /** Per reading: every attempt's outcome (status or error), to explain a reading acknowledged but not stored. */
  readonly attempts = new Map<number, string[]>();
  readonly acked = new Set<number>();
  readonly result: LoadResult = { sent: 0, acked: 0, failed: 0, failures: {}, retries: 0, mixups: 0, seconds: 0, rate: 0 };

  constructor(
    private readonly target: Target,
    readonly device: string,
    private readonly rate: number,
    private readonly retry: { untilMs: number } | null = null,
  ) {}

  start(): void {
    this.t0 = Date.now();
    const tick = 10;
    let due = 0;
    this.timer = setInterval(() => {
      due += (this.rate * tick) / 1000;
      while (due >= 1) {
        due -= 1;
        const p = this.post(++this.seq).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    }, tick);
  }

  private async post(fCnt: number): Promise<void> {
    this.result.sent++;
    const body = uplink(this.device, fCnt);
    const end = Date.now() + (this.retry?.untilMs ?? 0);
    for (let attempt = 0; ; attempt++) {
      let why: string;
      try {
        const r = await httpsRequest(this.target, "POST", "/api/webhooks/ttn", body, this.agent);
        this.note(fCnt, `${r.status} ${r.body.slice(0, 60)}`);
        let echo: { f_cnt?: number; device?: string } = {};
        try {
          echo = JSON.parse(r.body) as typeof echo;
        } catch {
          /* not JSON */
        }
        if (r.status >= 200 && r.status < 300 && echo.f_cnt !== undefined && (echo.f_cnt !== fCnt || echo.device !== this.device)) {
          // The answer is for another reading: a response mix-up somewhere between client and backend.
          this.result.mixups++;
          why = `2xx for another reading (${echo.device}/${echo.f_cnt})`;
        } else if (r.status >= 200 && r.status < 300) {
          this.result.acked++;
          this.acked.add(fCnt);
          return;
        } else why = `HTTP ${r.status}`;
      } catch (e) {
        why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        this.note(fCnt, why);
      }
      if (!this.retry || Date.now() > end) {
        this.result.failed++;
        this.result.failures[why] = (this.result.failures[why] ?? 0) + 1;
        return;
      }
      this.result.retries++;
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** Math.min(attempt, 4), 3000)));
    }
  }

  private note(fCnt: number, what: string): void {
    const a = this.attempts.get(fCnt) ?? [];
    a.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
    this.attempts.set(fCnt, a);
  }

  async stop(): Promise<LoadResult> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
    this.agent.destroy();
    this.result.seconds = (Date.now() - this.t0) / 1000;
    this.result.rate = this.result.sent / Math.max(this.result.seconds, 0.001);
    return this.result;
  }
}
