// Prisma CLI configuration for checking migrations without Prisma's native schema engine:
// `prisma migrate deploy|status|diff --config prisma.adapter.config.ts` runs the WebAssembly
// engine through the `pg` driver adapter. `python -m ops migrate --database-url URL` and the
// tests use it. It is NOT the image's path: the Dockerfile copies only package*.json,
// tsconfig.json, prisma/ and src/, and the Prisma CLI only reads a config by this name when
// `--config` names it, so the one-off migration task keeps the ordinary native engine.
//
// The stock adapter (@prisma/adapter-pg 6.19.3) needs four fixes for migrations, marked FIX
// below, and two changes make its errors as telling as the native engine's (unreachable hosts,
// the failing line of a migration). tests/migrations/ exercises each.
import { PrismaPg } from '@prisma/adapter-pg';
import { DriverAdapterError } from '@prisma/driver-adapter-utils';
import { defineConfig } from 'prisma/config';
import pg from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';

const url = process.env.DATABASE_URL ?? '';
if (!url.trim()) {
  throw new Error('DATABASE_URL is not set: pass the database URL to migrate');
}

// FIX 4 (part): discrete host/port/user/password/database instead of `connectionString`, so that
// the shadow database's `database` really replaces the URL's (a connection string wins over it).
const { connectionString: _unused, ...fromUrl } = parseIntoClientConfig(url) as pg.PoolConfig;
const schema = new URL(url).searchParams.get('schema') ?? undefined;
const poolConfig: pg.PoolConfig = {
  ...fromUrl,
  // pg waits forever on a host that drops packets; Prisma's own default is 5 s.
  connectionTimeoutMillis: Number(process.env.PRISMA_ADAPTER_CONNECT_TIMEOUT_MS ?? 10000),
  allowExitOnIdle: true,
};

// FIX 1: Prisma's introspection reads catalog columns of type `name` (OID 19) and `"char"` (18),
// which the adapter cannot map ("Column type 'name' could not be deserialized"). Report them, and
// their arrays (1003, 1002), as text / text[] before the adapter picks its column types and
// parsers. `pg` here is the same module instance the adapter uses (one copy in node_modules).
const AS_TEXT: Record<number, number> = { 19: 25, 18: 25, 1003: 1009, 1002: 1009 };
const addFields = pg.Result.prototype.addFields;
pg.Result.prototype.addFields = function (fields: { dataTypeID: number }[]) {
  for (const field of fields) field.dataTypeID = AS_TEXT[field.dataTypeID] ?? field.dataTypeID;
  return addFields.call(this, fields);
};

// FIX 2: the engine arms a 10 s timer (its advisory-lock timeout) and never clears it, so Node
// lingers 10 s after the work is done. Long timers must not keep the process alive: an active
// query (the lock wait included) still does.
const setTimeoutOriginal = globalThis.setTimeout;
const setTimeoutUnrefLong = ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const timer = setTimeoutOriginal(callback, ms, ...args);
  if ((ms ?? 0) >= 5000) timer.unref();
  return timer;
}) as typeof setTimeout;
(setTimeoutUnrefLong as any)[promisify.custom] = (setTimeoutOriginal as any)[promisify.custom];
globalThis.setTimeout = setTimeoutUnrefLong;

// The native engine's "Position:" block: up to five lines before the failing one, numbered.
function positionOf(script: string, position: number): string {
  if (!Number.isInteger(position) || position < 1) return '';
  const lines = script.split('\n');
  let end = 0;
  for (let i = 0; i < lines.length; i++) {
    end += lines[i].length + 1;
    if (position <= end) {
      const numbered = lines.slice(Math.max(0, i - 5), i + 1).map((line, k, shown) =>
        `${String(i + 1 - (shown.length - 1 - k)).padStart(3)}${line ? ' ' : ''}${line}`);
      return `\n\nPosition:\n${numbered.join('\n')}`;
    }
  }
  return '';
}

const UNREACHABLE_CODES = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET']);

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;

class MigratingPrismaPg extends PrismaPg {
  constructor(private readonly pool: pg.PoolConfig) {
    super(pool, { schema });
  }

  // FIX 3: the stock executeScript splits a migration on every `;` (breaking dollar-quoted
  // function bodies) and sends statements one by one, so a failing migration leaves its first
  // statements applied. Send the script whole, as the native engine does: PostgreSQL runs a
  // multi-statement query as one implicit transaction. A failure keeps PostgreSQL's own message
  // (the stock mapping reduces some to "No such table") and, like the native engine's P3018,
  // shows the lines up to the failing one.
  async connect(): Promise<Adapter> {
    const adapter = await super.connect();
    // The stock mapping knows ECONNREFUSED and ENOTFOUND only: a host that drops packets or has
    // no route gave "External error id#0". Report those as unreachable too (P1001's message).
    const onError = (adapter as any).onError.bind(adapter);
    (adapter as any).onError = (error: any) => {
      if (UNREACHABLE_CODES.has(error?.code) || /^Connection terminated/.test(error?.message ?? '')) {
        throw new DriverAdapterError({ kind: 'DatabaseNotReachable', host: this.pool.host, port: this.pool.port });
      }
      return onError(error);
    };
    adapter.executeScript = async (script: string) => {
      try {
        await (adapter.underlyingDriver() as pg.Pool).query(script);
      } catch (error) {
        const e = error as pg.DatabaseError;
        if (typeof e.code !== 'string' || typeof e.severity !== 'string') (adapter as any).onError(error);
        throw new DriverAdapterError({
          kind: 'postgres', code: e.code!, severity: e.severity!, detail: e.detail, column: e.column, hint: e.hint,
          message: e.message + positionOf(script, Number(e.position)),
        });
      }
    };
    return adapter;
  }

  // FIX 4: the stock version opens the shadow database through the main URL (so it would apply
  // migrations to the real database), then cannot drop it while its own pool is connected.
  async connectToShadowDb(): Promise<Adapter> {
    const name = `prisma_migrate_shadow_db_${randomUUID()}`;
    const admin = new pg.Pool({ ...this.pool, max: 1 });
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } catch (error) {
      await admin.end();
      throw error;
    }
    const shadow = await new MigratingPrismaPg({ ...this.pool, database: name }).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      try {
        await dispose();
        await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    };
    return shadow;
  }
}

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  adapter: async () => new MigratingPrismaPg(poolConfig),
});
