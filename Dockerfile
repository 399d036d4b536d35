# syntax=docker/dockerfile:1
# Multi-stage build: a static oktasync binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# What `oktasync version` prints; make build stamps the same from git:
#   docker build --build-arg VERSION=0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t registry.example.com/oktasync:0.1.0 .
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/oktasync ./cmd/oktasync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oktasync /usr/local/bin/oktasync
USER 65532:65532
# The manager spool goes to $TMPDIR; mount an emptyDir there when the root
# filesystem is read-only.
ENV TMPDIR=/tmp
ENTRYPOINT ["/usr/local/bin/oktasync"]
CMD ["sync"]
