# billing-access bot: docker build -t billing-access-bot .
#
# Build stage: installs from the lock file and bundles the bot and its CLIs (src/cli/*.ts, run as
# `node dist/cli/doctor.js` and the like) with esbuild into dist/. dynalite, the embedded store,
# stays outside the bundle: it loads files by computed paths and carries a native LevelDB addon,
# so `npm run build` copies it and its dependencies, as locked, into dist/node_modules.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: nothing is compiled; esbuild and LevelDB ship prebuilt binaries.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY handlers ./handlers
RUN npm run build \
    && rm -rf dist/node_modules/classic-level/deps \
    && find dist/node_modules/classic-level/prebuilds -mindepth 1 -maxdepth 1 ! -name 'linux-*' -exec rm -rf {} +

# Runtime stage: the bundle and the few packages it cannot contain; no dev dependencies, no sources.
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/dist ./dist
# doctor compares the token's scopes with the manifest (dist/cli/doctor.js reads /app/manifest.yml).
COPY manifest.yml ./
# The embedded store (STORE=embedded, one replica only) writes here; STORE=dynamodb writes nothing locally.
RUN mkdir -p /app/data && chown node:node /app/data
# The image's `node` user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 3000
# 200 only while the store answers and no grant is overdue for expiry (GET /healthz, HTTP and Socket Mode alike).
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The heap flags of src/node-flags.ts (why: see there).
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=8", "dist/main.js"]
