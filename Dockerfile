# Production image for the NestJS + Prisma backend. Pulumi builds it with the build context `app/`
# (this file lives outside the context, so COPY paths are relative to app/).
#
# Contract with the deployment (deployment notes, section 1): the container only starts the
# application. Database migrations run once per release as a separate ECS task from this same
# image (`npx prisma migrate deploy`), never at container start.

# Major version pinned here; pin the digest (node:22-bookworm-slim@sha256:...) with your
# dependency bot for fully reproducible builds.
ARG NODE_IMAGE=node:22-bookworm-slim

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
RUN npx prisma generate \
    && npm run build \
    && npm prune --omit=dev --no-audit --no-fund

FROM base AS runtime
ENV NODE_ENV=production \
    PORT=3000
COPY --from=build --chown=1000:1000 /app/package.json /app/package-lock.json ./
COPY --from=build --chown=1000:1000 /app/node_modules ./node_modules
COPY --from=build --chown=1000:1000 /app/prisma ./prisma
COPY --from=build --chown=1000:1000 /app/dist ./dist
# The official image's unprivileged `node` user, numerically so the runtime never needs /etc/passwd.
USER 1000:1000
EXPOSE 3000
# Docker's own probe for `docker run`; ECS uses the task definition's health check and the ALB's.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/src/main"]
