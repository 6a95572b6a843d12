// Fargate creates a task's bind-mount volumes owned by root, mode 0755 (aws/containers-roadmap#938):
// containers that run as another user cannot write them. A task whose containers share a scratch
// volume therefore starts with this short-lived container: root, no secret, no environment, it
// makes the mount points sticky world-writable like /tmp and exits; the others wait for its success.
// (The app's services do the same per service: volumeInitContainer in container-definitions.ts.)

export interface ScratchMount {
  sourceVolume: string;
  containerPath: string;
}

/** The container's name: the others depend on it (`dependsOn: [{containerName, condition: "SUCCESS"}]`). */
export const SCRATCH_VOLUMES_CONTAINER = "volumes";

export function scratchVolumesContainer(image: string, mounts: ScratchMount[], logConfiguration: object): object {
  for (const m of mounts)
    if (!/^\/[A-Za-z0-9._/-]+$/.test(m.containerPath)) throw new Error(`scratch volume path ${m.containerPath} is not a plain absolute path`);
  return {
    name: SCRATCH_VOLUMES_CONTAINER,
    image,
    essential: false,
    user: "0",
    entryPoint: ["sh", "-c"],
    command: [`chmod 1777 ${mounts.map((m) => m.containerPath).join(" ")}`],
    environment: [],
    secrets: [],
    mountPoints: mounts.map((m) => ({ ...m, readOnly: false })),
    readonlyRootFilesystem: true,
    logConfiguration,
  };
}
