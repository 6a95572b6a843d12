// Fixed AWS choices that are not configuration: each is a decision with its reason.

/** TLS 1.3 + 1.2 only (ALB's recommended policy as of 2026). */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** WebSockets (socket.io) stay open through the ALB for up to an hour of silence. */
export const ALB_IDLE_TIMEOUT = 3600;
/** The RDS master user: the db-setup and db-dump tasks log in as it; the app has its own role. */
export const MASTER_USERNAME = "ftadmin";
/** The app's object storage client signs for us-east-1 (docs/app-contract.md), so the assets bucket lives there. */
export const ASSETS_REGION = "us-east-1";
