# syntax=docker/dockerfile:1.7
#
# The web app (clients/web, React + Vite) as static files behind an unprivileged nginx.
#
#   docker build -f docker/web.Dockerfile -t ghcr.io/livestreamer/web .
#
# The build context is the repository root (see .dockerignore). The app calls the API on
# its own origin (/api, /ws, /live): the edge proxy (compose) or the Ingress (k8s) puts
# both behind one origin, so this image serves files only, on port 8080, as uid 101.

ARG NODE_VERSION=20
ARG NGINX_VERSION=1.27

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /web
ENV CI=true \
    npm_config_fund=false \
    npm_config_audit=false \
    npm_config_update_notifier=false
COPY clients/web/package.json clients/web/package-lock.json ./
RUN npm ci
COPY clients/web/ ./
RUN npm run build

FROM nginxinc/nginx-unprivileged:${NGINX_VERSION}-alpine AS runtime
ENV NGINX_ENTRYPOINT_QUIET_LOGS=1
COPY docker/web.nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /web/dist /usr/share/nginx/html
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
