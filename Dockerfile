# One image, three roles: the command picks one (`start` = api + worker, `api`, `worker`, `migrate up`, …).

# --- dependencies: everything needed to type-check and test -------------------------------------
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci runs `partnerloop prepare`, which builds the embedded database templates from these.
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
RUN npm ci --no-audit --no-fund

# --- check: the image is only built from sources that type-check --------------------------------
FROM deps AS check
COPY tsconfig.json biome.json vitest.config.ts ./
COPY templates ./templates
COPY test ./test
COPY bench ./bench
RUN npx tsc --noEmit && npx biome check .

# --- production dependencies only ----------------------------------------------------------------
FROM deps AS prod-deps
RUN npm prune --omit=dev --no-audit --no-fund

# --- runtime --------------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 DATA_DIR=/data
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=check /app/package.json ./package.json
COPY bin ./bin
COPY src ./src
COPY migrations ./migrations
COPY templates ./templates
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/partnerloop.js"]
CMD ["start"]
