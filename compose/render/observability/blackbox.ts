// What blackbox-exporter probes (backend readiness and frontend health inside the network,
// the public https endpoint through Caddy with its certificate) and its modules (blackbox.yml).
import type { BundleInput } from "../../bundle-input";

export const BACKEND_READY_URL = "http://backend:3000/health/ready";
export const FRONTEND_HEALTH_URL = "http://frontend:8080/health";
export const CADDY_HOST = "caddy";
/**
 * The end-to-end probe through Caddy. tlsMode acme: the real public URL (DNS, certificate and
 * routing as users see them). tlsMode internal: usually a host without public DNS, or behind
 * NAT without hairpinning, so Caddy is probed inside the network with the domain as Host and SNI.
 */
export const publicProbeUrl = (input: BundleInput) =>
  input.config.app.tlsMode === "acme" ? `https://${input.config.app.domain}/health/ready` : `https://${CADDY_HOST}/health/ready`;

/** blackbox.yml: `http_internal` for the in-network probes, `https_public` for the probe through Caddy. */
export function blackboxConfig(input: BundleInput): object {
  return {
    modules: {
      http_internal: {
        prober: "http",
        timeout: "5s",
        http: { method: "GET", valid_status_codes: [200], preferred_ip_protocol: "ip4", ip_protocol_fallback: true, no_follow_redirects: true },
      },
      https_public: {
        prober: "http",
        timeout: "10s",
        http: {
          method: "GET",
          valid_status_codes: [200],
          fail_if_not_ssl: true,
          preferred_ip_protocol: "ip4",
          ip_protocol_fallback: true,
          ...(input.config.app.tlsMode === "acme"
            ? { tls_config: { insecure_skip_verify: false } }
            : {
                // Caddy's own CA, which nothing here trusts: check routing and TLS, not the chain.
                headers: { Host: input.config.app.domain },
                tls_config: { insecure_skip_verify: true, server_name: input.config.app.domain },
              }),
        },
      },
    },
  };
}
