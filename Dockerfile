# polyv-graphql: multi-stage build, non-root runtime.
# The start command is the one the tests exercise: node dist/src/index.js (what `npm start`
# runs after building). Node 24, the Active LTS line, on which the suite runs (README: Node.js).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json codegen.yml schema.graphql ./
COPY src ./src
# The built-in emulator: loaded only without Polyv credentials (POLYV_EMULATOR=on); its tests stay out.
COPY emulator ./emulator
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
# HOST: a container listens on every interface (the gateway alone defaults to loopback).
# The heap the defaults' bound fits (docs/security.md, Limits: records in flight).
ENV NODE_ENV=production \
    PORT=4000 \
    HOST=0.0.0.0 \
    NODE_OPTIONS=--max-old-space-size=256
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --chown=node:node package.json schema.graphql ./
COPY --chown=node:node public ./public
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/index.js"]
