// The container's contract: PORT plus four secrets injected by ECS from Secrets Manager.
export const REQUIRED_SECRETS = ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "FIREBASE_CREDENTIALS"] as const;

export interface AppConfig {
  port: number;
  secrets: Record<(typeof REQUIRED_SECRETS)[number], string>;
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  // Names only: a value must never reach a log line.
  const missing = REQUIRED_SECRETS.filter((name) => !env[name] || !env[name]!.trim());
  if (missing.length > 0) {
    throw new ConfigError(
      `missing or empty environment variable(s): ${missing.join(", ")} ` +
        "(ECS injects them from Secrets Manager; populate the secrets before deploying)",
    );
  }
  const port = Number(env.PORT ?? "3000");
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`PORT must be an integer from 1 to 65535`);
  }
  const secrets = Object.fromEntries(REQUIRED_SECRETS.map((name) => [name, env[name] as string]));
  return { port, secrets: secrets as AppConfig["secrets"] };
}
