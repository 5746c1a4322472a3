# syntax=docker/dockerfile:1
# The steps CI runs (.ci/run): npm ci, npm run build; then a runtime image
# with production dependencies only, run as the unprivileged `node` user.
# Configuration is the environment (docs/configuration.md).
# Node 24 LTS, the runtime CI tests the service on besides Node 20 (package.json engines).

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Binaries come from npm packages and Debian only: better-sqlite3 compiles from
# source (its installer would otherwise fetch a prebuilt one from GitHub);
# bcrypt's Node-API binary ships inside its npm package.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm_config_build_from_source=better-sqlite3 npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# The compilers are needed for better-sqlite3 only while installing: one layer adds and removes them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && npm_config_build_from_source=better-sqlite3 npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && apt-get purge -y python3 make g++ \
 && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /app/dist ./dist
# Served at /docs-json instead of building it at every start (src/swagger.ts).
COPY openapi.json ./
# Where the default SQLite database lives (DATABASE_URL=sqlite:./data/auth.sqlite); mount a volume here.
RUN mkdir -p data && chown node:node data
USER node
EXPOSE 3000
# Liveness: the process answers. Readiness (/health/ready) is for the load balancer.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 3000}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
