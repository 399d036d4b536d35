# syntax=docker/dockerfile:1
# Multi-stage build: a static oktasync binary on a distroless, non-root base.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/oktasync ./cmd/oktasync

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oktasync /usr/local/bin/oktasync
USER 65532:65532
# The manager spool goes to $TMPDIR; mount an emptyDir there when the root
# filesystem is read-only.
ENV TMPDIR=/tmp
ENTRYPOINT ["/usr/local/bin/oktasync"]
CMD ["sync"]
