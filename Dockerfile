# Build stage: a static, cgo-free binary (the SQLite driver is pure Go).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sigil ./cmd/sigil

# Run stage: no shell, no package manager, an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sigil /usr/local/bin/sigil
USER nonroot:nonroot
WORKDIR /home/nonroot
ENV SIGIL_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sigil"]
CMD ["serve"]
