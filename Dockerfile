# Production image for the NestJS + Prisma backend. Pulumi builds it with the build context `app/`
# (this file lives outside the context, so COPY paths are relative to app/).
#
# Contract with the deployment: the container only starts the application. Database migrations run once per release as a separate ECS task from this same
# image (`npx prisma migrate deploy`), never at container start.

# Exact Node release and Debian suite: a floating tag such as node:24-bookworm-slim changes under
# a rebuild. Let your dependency bot bump it and add the digest (...-slim@sha256:<digest>).
ARG NODE_IMAGE=node:24.19.0-bookworm-slim

FROM ${NODE_IMAGE} AS base
# Prisma's engines link against OpenSSL 3 and detect it with `openssl version`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssl=3.0.* ca-certificates=2023* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# Dependencies first: this layer is reused until package*.json change.
FROM base AS deps
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json ./
COPY prisma ./prisma
COPY src ./src
# Generate the Prisma client for this platform, compile, then drop devDependencies. The pinned
# Prisma CLI stays (a production dependency) so the migration task never downloads anything.
# TypeScript stays too: Prisma declares it as an optional peer, and `--omit=optional` would also
# drop the platform binaries that real apps' optional dependencies carry.
RUN npx prisma generate \
    && npm run build \
    && npm prune --omit=dev --no-audit --no-fund

FROM base AS runtime
# The migration task runs `npx prisma migrate deploy` in this image, possibly without internet
# access: no npm update check, no Prisma telemetry call.
ENV NODE_ENV=production \
    PORT=3000 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    CHECKPOINT_DISABLE=1
# Owned by root and only readable by the app's user: the process cannot rewrite its own code.
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/prisma ./prisma
COPY --from=build /app/dist ./dist
# The official image's unprivileged `node` user, numerically so the runtime never needs /etc/passwd.
USER 1000:1000
EXPOSE 3000
# Docker's own probe for `docker run`; ECS uses the task definition's health check and the ALB's.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main"]
