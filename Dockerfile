# syntax=docker/dockerfile:1
# One image for every process of the service; docker-compose.yml picks the process with `command:`.
#   api:          node apps/api/dist/index.js          (the default)
#   apns-worker:  node apps/apns-worker/dist/index.js
#   fcm-worker:   node apps/fcm-worker/dist/index.js
#   webpush-worker: node apps/webpush-worker/dist/index.js
#   simulators:   node packages/simulators/dist/cli.js (demo only)
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
RUN npx turbo run build --output-logs=errors-only
# Production dependencies only; then keep what runs: each workspace's package.json and dist/, the
# workspace links in node_modules included.
RUN npm prune --omit=dev --no-audit --no-fund \
 && mkdir -p /out \
 && cp -a package.json node_modules /out/ \
 && for ws in apps/* packages/*; do \
      mkdir -p "/out/$ws" && cp -a "$ws/package.json" "/out/$ws/"; \
      if [ -d "$ws/dist" ]; then cp -a "$ws/dist" "/out/$ws/"; fi; \
    done \
 && find /out -name '*.tsbuildinfo' -delete

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
COPY --from=build /out ./
# The code stays root's and read-only to the service; only .data/ (the demo simulators' certificates and
# keys, a shared volume in docker-compose.yml) is written, by the unprivileged `node` user.
RUN mkdir -p .data/simulators && chown -R node:node .data
USER node
ENV NODE_ENV=production
EXPOSE 3000 9464
CMD ["node", "apps/api/dist/index.js"]
