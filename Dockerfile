# One Dockerfile for the four Croupier images, with the repository root as the
# build context. Pick the image with --target: wallet, rules, push-gateway or
# operator (scripts/images.sh builds all four). The workspaces share one
# lockfile and one TypeScript build, so the build stage is common and BuildKit
# runs it once for every target.
#
# NODE_VERSION is the Node.js release the test suite runs on. The runtime base
# is pinned by tag only: pin it by digest too once a registry is at hand, with
# --build-arg RUNTIME_BASE=node:<version>-bookworm-slim@sha256:<digest>.

ARG NODE_VERSION=20.20.2
ARG BUILD_BASE=node:${NODE_VERSION}-bookworm
ARG RUNTIME_BASE=node:${NODE_VERSION}-bookworm-slim

# ---------------------------------------------------------------------------
# build: every workspace's dependencies, then the compiled output of the four
# processes and the workspaces they import.
FROM ${BUILD_BASE} AS build
WORKDIR /src
# Manifests first, so the dependency layer is reused until one of them changes.
# npm ci needs the manifest of every workspace the lockfile names.
COPY package.json package-lock.json ./
COPY services/shared/package.json services/shared/
COPY services/player-client/package.json services/player-client/
COPY services/wallet/package.json services/wallet/
COPY services/rules/package.json services/rules/
COPY services/push-gateway/package.json services/push-gateway/
COPY operator/package.json operator/
COPY loadtest/package.json loadtest/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY services/ services/
COPY operator/ operator/
# The push gateway's project references player-client and rules (its tests use
# them), so tsc builds those too; the runtime stages copy only what they run.
RUN npx tsc -b services/wallet services/rules services/push-gateway operator

# ---------------------------------------------------------------------------
# Production dependencies of one workspace each: `npm ci --workspace` installs
# that workspace's dependencies and links the workspaces it depends on.
FROM ${BUILD_BASE} AS wallet-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY services/shared/package.json services/shared/
COPY services/wallet/package.json services/wallet/
RUN npm ci --omit=dev --workspace services/wallet --no-audit --no-fund

FROM ${BUILD_BASE} AS rules-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY services/shared/package.json services/shared/
COPY services/rules/package.json services/rules/
RUN npm ci --omit=dev --workspace services/rules --no-audit --no-fund

FROM ${BUILD_BASE} AS push-gateway-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY services/shared/package.json services/shared/
COPY services/push-gateway/package.json services/push-gateway/
RUN npm ci --omit=dev --workspace services/push-gateway --no-audit --no-fund

FROM ${BUILD_BASE} AS operator-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY services/shared/package.json services/shared/
COPY operator/package.json operator/
RUN npm ci --omit=dev --workspace operator --no-audit --no-fund

# ---------------------------------------------------------------------------
# runtime: the slim base, files owned by root and read-only for the process,
# which runs as 10001:10001 (the IDs the operator's Deployments set). Nothing
# writes outside /tmp, so a read-only root file system works.
FROM ${RUNTIME_BASE} AS runtime
ARG VERSION=0.0.0-unset
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.vendor="Croupier" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
ENV NODE_ENV=production
WORKDIR /app
USER 10001:10001

# ---------------------------------------------------------------------------
FROM runtime AS wallet
LABEL org.opencontainers.image.title="croupier-wallet" \
      org.opencontainers.image.description="Seamless wallet, payments and player API of one brand"
COPY --from=wallet-dependencies /app/ ./
COPY --from=build /src/services/shared/dist/ services/shared/dist/
COPY --from=build /src/services/wallet/dist/src/ services/wallet/dist/src/
# tsc emits JavaScript only; the migrations are read next to the compiled migrate.js.
COPY services/wallet/src/db/migrations/ services/wallet/dist/src/db/migrations/
# The default 127.0.0.1 would be unreachable from outside the container.
ENV WALLET_HTTP_HOST=0.0.0.0 WALLET_HTTP_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WALLET_HTTP_PORT||8080)+'/healthz',{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "services/wallet/dist/src/main.js"]

FROM runtime AS rules
LABEL org.opencontainers.image.title="croupier-rules" \
      org.opencontainers.image.description="Behaviour-rules engine and back office API of one brand"
COPY --from=rules-dependencies /app/ ./
COPY --from=build /src/services/shared/dist/ services/shared/dist/
COPY --from=build /src/services/rules/dist/src/ services/rules/dist/src/
# Read next to the compiled files at start-up: the SQL migrations and the Redis script.
COPY services/rules/src/db/migrations/ services/rules/dist/src/db/migrations/
COPY services/rules/src/engine/apply-event.lua services/rules/dist/src/engine/
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "services/rules/dist/src/main.js"]

FROM runtime AS push-gateway
LABEL org.opencontainers.image.title="croupier-push-gateway" \
      org.opencontainers.image.description="socket.io push gateway and back office page of one brand"
COPY --from=push-gateway-dependencies /app/ ./
COPY --from=build /src/services/shared/dist/ services/shared/dist/
COPY --from=build /src/services/push-gateway/dist/src/ services/push-gateway/dist/src/
# The back office page, found from dist/src/backoffice/ as ../../../public/backoffice/.
COPY services/push-gateway/public/backoffice/ services/push-gateway/public/backoffice/
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Kubernetes sends SIGTERM, which starts the drain; the default stop signal is the same.
ENTRYPOINT ["node", "services/push-gateway/dist/src/main.js"]

FROM runtime AS operator
LABEL org.opencontainers.image.title="croupier-operator" \
      org.opencontainers.image.description="Kubernetes operator that turns Tenant resources into running brands"
COPY --from=operator-dependencies /app/ ./
COPY --from=build /src/services/shared/dist/ services/shared/dist/
COPY --from=build /src/operator/dist/src/ operator/dist/src/
ENV OPERATOR_HTTP_HOST=0.0.0.0 OPERATOR_HTTP_PORT=8081
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.OPERATOR_HTTP_PORT||8081)+'/healthz',{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "operator/dist/src/main.js"]
