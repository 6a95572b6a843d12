// TTN webhook load through Caddy (HTTPS on loopback, SNI/Host = the stack's domain): real
// TTN v3 uplinks, authenticated with the e2e organisation's webhook secret, one User-Agent
// (as TTN's webhooks have), so every request shares the backend's one rate-limit bucket.
// No retries by default: a refused or failed POST is a lost reading, as with TTN.
import { createHash } from "crypto";
import * as https from "https";
import { APP_CONTRACT } from "../../../core/app-contract";
import { DOMAIN } from "../harness";

/** What TTN's webhook client sends as User-Agent (all uplinks of a customer carry the same one). */
export const TTN_USER_AGENT = "TheThingsStack/3.32.1 (linux/amd64) webhooks";

export interface LoadResult {
  sent: number;
  acked: number;
  failed: number;
  failures: Record<string, number>;
  retries: number;
  /** HTTP 429 answers (the rate limiter): counted apart from other failures. */
  rateLimited: number;
  /** 2xx answers whose echoed reading is not the one sent. */
  mixups: number;
  seconds: number;
  rate: number;
  /** The longest time a reading waited for its 2xx answer, in ms (TTN gives a webhook 10 s). */
  maxAckMs: number;
}

export interface Target {
  /** Where the stack's Caddy listens (default 127.0.0.1: this machine's engine). */
  address?: string;
  port: number;
  ca?: string;
  /** The e2e organisation's webhook secret (sent in X-API-Key). */
  apiKey?: string;
}

export function httpsRequest(
  t: Target,
  method: string,
  path: string,
  body?: string,
  agent?: https.Agent,
  timeoutMs = 15000,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: t.address ?? "127.0.0.1",
        port: t.port,
        servername: DOMAIN,
        method,
        path,
        headers: { Host: DOMAIN, ...(body ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) } : {}), ...headers },
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

/** The DevEUI the e2e provisions for a device name (16 hex digits, stable). */
export function devEui(device: string): string {
  return createHash("sha256").update(device).digest("hex").slice(0, 16).toUpperCase();
}

/** A TTN v3 uplink message as TTN's webhook POSTs it. */
export function uplink(device: string, fCnt: number): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    end_device_ids: {
      device_id: device,
      application_ids: { application_id: "freshtrack-e2e" },
      dev_eui: devEui(device),
      join_eui: "0000000000000000",
      dev_addr: "260B1234",
    },
    correlation_ids: [`as:up:${device}:${fCnt}`],
    received_at: now,
    uplink_message: {
      session_key_id: "AYvqBW3F0mLxl8ueEd4pXg==",
      f_port: 2,
      f_cnt: fCnt,
      frm_payload: Buffer.from([fCnt & 0xff]).toString("base64"),
      decoded_payload: { temperature: 2 + (fCnt % 50) / 10, humidity: 60, battery: 3.6 },
      rx_metadata: [{ gateway_ids: { gateway_id: "e2e-gw-1", eui: "B827EBFFFE000001" }, time: now, rssi: -92, channel_rssi: -92, snr: 7.5, received_at: now }],
      settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 7, coding_rate: "4/5" } }, frequency: "868100000" },
      received_at: now,
      consumed_airtime: "0.061696s",
      network_ids: { net_id: "000013", tenant_id: "ttn", cluster_id: "eu1", cluster_address: "eu1.cloud.thethings.network" },
    },
  });
}

/** Headers of a TTN webhook delivery: the organisation's secret and TTN's User-Agent. */
export function webhookHeaders(t: Target): Record<string, string> {
  return { [APP_CONTRACT.webhook.authHeaders[0]]: t.apiKey ?? "", "User-Agent": TTN_USER_AGENT };
}

/** One uplink body (from uplink()) POSTed as TTN would. */
export function postUplink(t: Target, body: string, agent?: https.Agent): Promise<{ status: number; body: string }> {
  return httpsRequest(t, APP_CONTRACT.webhook.method, APP_CONTRACT.webhook.path, body, agent, 15000, webhookHeaders(t));
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
  readonly result: LoadResult = { sent: 0, acked: 0, failed: 0, failures: {}, retries: 0, rateLimited: 0, mixups: 0, seconds: 0, rate: 0, maxAckMs: 0 };

  constructor(
    private readonly target: Target,
    readonly device: string,
    private readonly rate: number,
    private readonly retry: { untilMs: number } | null = null,
  ) {}

  /** Frame counter of the last reading sent so far (readings are numbered 1, 2, ... in send order). */
  get lastSent(): number {
    return this.seq;
  }

  start(): void {
    this.t0 = Date.now();
    const tick = 10;
    this.timer = setInterval(() => {
      // Due from the clock, not from the ticks: a tick that a busy event loop delayed (the program
      // planned in this process, a host's output parsed) must not lower the rate; it sends a burst.
      const due = Math.floor((this.rate * (Date.now() - this.t0)) / 1000);
      while (this.seq < due) {
        const p = this.post(++this.seq).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    }, tick);
  }

  private async post(fCnt: number): Promise<void> {
    this.result.sent++;
    // A retry redelivers the same message, as TTN would.
    const body = uplink(this.device, fCnt);
    const end = Date.now() + (this.retry?.untilMs ?? 0);
    for (let attempt = 0; ; attempt++) {
      let why: string;
      const t0 = Date.now();
      try {
        const r = await postUplink(this.target, body, this.agent);
        this.note(fCnt, `${r.status} ${r.body.slice(0, 60)}`);
        if (r.status === APP_CONTRACT.rateLimit.status) this.result.rateLimited++;
        let echo: { f_cnt?: number; device_id?: string } = {};
        try {
          echo = JSON.parse(r.body) as typeof echo;
        } catch {
          /* not JSON */
        }
        if (r.status >= 200 && r.status < 300 && echo.f_cnt !== undefined && (echo.f_cnt !== fCnt || echo.device_id !== this.device)) {
          // The answer is for another reading: a response mix-up somewhere between client and backend.
          this.result.mixups++;
          why = `2xx for another reading (${echo.device_id}/${echo.f_cnt})`;
        } else if (r.status >= 200 && r.status < 300) {
          this.result.acked++;
          this.result.maxAckMs = Math.max(this.result.maxAckMs, Date.now() - t0);
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
    // The rate is over the time readings were sent, not the wait for the last answers.
    this.result.seconds = (Date.now() - this.t0) / 1000;
    this.result.rate = this.result.sent / Math.max(this.result.seconds, 0.001);
    await Promise.all([...this.inFlight]);
    this.agent.destroy();
    return this.result;
  }
}

/** Exactly `count` uplinks of one device, `concurrency` at a time, no retries: a count-based burst (no timer, so a slow machine sends the same number). */
export async function burst(
  target: Target,
  device: string,
  count: number,
  concurrency = 10,
): Promise<{ sent: number; acked: number; rateLimited: number; other: Record<string, number>; seconds: number }> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency });
  const out = { sent: 0, acked: 0, rateLimited: 0, other: {} as Record<string, number>, seconds: 0 };
  const t0 = Date.now();
  let next = 1;
  const worker = async () => {
    while (next <= count) {
      const fCnt = next++;
      out.sent++;
      try {
        const r = await postUplink(target, uplink(device, fCnt), agent);
        if (r.status >= 200 && r.status < 300) out.acked++;
        else if (r.status === APP_CONTRACT.rateLimit.status) out.rateLimited++;
        else out.other[`HTTP ${r.status}`] = (out.other[`HTTP ${r.status}`] ?? 0) + 1;
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        out.other[why] = (out.other[why] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  out.seconds = (Date.now() - t0) / 1000;
  return out;
}
