// Grafana provisioning: the Prometheus and Loki datasources and the file provider that
// loads the FreshTrack dashboard (dashboard.ts) from /etc/grafana/dashboards.

export const PROM_DS = { type: "prometheus", uid: "prometheus" };
export const LOKI_DS = { type: "loki", uid: "loki" };

export function grafanaDatasources(): object {
  return {
    apiVersion: 1,
    datasources: [
      { name: "Prometheus", type: "prometheus", uid: PROM_DS.uid, access: "proxy", url: "http://prometheus:9090", isDefault: true, editable: false },
      { name: "Loki", type: "loki", uid: LOKI_DS.uid, access: "proxy", url: "http://loki:3100", editable: false, jsonData: { maxLines: 1000 } },
    ],
  };
}

export function grafanaDashboardProvider(): object {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "freshtrack",
        folder: "FreshTrack",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: "/etc/grafana/dashboards", foldersFromFilesStructure: false },
      },
    ],
  };
}
