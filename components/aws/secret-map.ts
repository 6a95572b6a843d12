// Where each app secret (core/model.ts APP_SECRET_ENV) comes from on AWS:
// built by this target (required) or a user credential from config (optional).
import { APP_SECRET_ENV, AppSecretEnv } from "../../core/model";
import { UserSecretKey } from "../../core/config";

/** Which user config key fills which app secret. */
export const USER_SECRET_ENV: Partial<Record<AppSecretEnv, UserSecretKey>> = {
  STACK_AUTH_SECRET_KEY: "stackAuthSecretKey",
  TTN_API_KEY: "ttnApiKey",
  TTN_ADMIN_API_KEY: "ttnAdminApiKey",
  STRIPE_SECRET_KEY: "stripeSecretKey",
  STRIPE_WEBHOOK_SECRET: "stripeWebhookSecret",
  RESEND_API_KEY: "resendApiKey",
  TELNYX_API_KEY: "telnyxApiKey",
  SENTRY_DSN: "sentryDsn",
};

/** Secrets every backend/worker task must have: the target builds them. */
export const REQUIRED_APP_SECRETS: AppSecretEnv[] = [
  "DATABASE_URL",
  "REDIS_URL",
  "JWT_SECRET",
  "TTN_ENCRYPTION_SALT",
  "MINIO_ROOT_USER",
  "MINIO_ROOT_PASSWORD",
];

/** App secrets nobody fills: a new name in the model must be mapped here, not silently dropped. */
export function unmappedAppSecrets(): string[] {
  return APP_SECRET_ENV.filter((n) => !REQUIRED_APP_SECRETS.includes(n) && !(n in USER_SECRET_ENV));
}
