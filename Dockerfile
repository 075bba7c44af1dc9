# Build stage: the release build, which signs RS256 through the system's
# libcrypto (cgo and the openssl build tag; see keys/rsasign). The build
# and run stages are the same Debian release (13, trixie), so the binary
# links against the glibc and libcrypto.so.3 the run stage has.
FROM golang:1.26-trixie AS build
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -tags openssl -trimpath -ldflags="-s -w" -o /out/sigil ./cmd/sigil \
	&& /out/sigil --version | grep -q 'RSA signing backend: openssl'

# Run stage: no shell, no package manager, an unprivileged user; glibc and
# OpenSSL 3's libcrypto come with distroless/base.
FROM gcr.io/distroless/base-debian13:nonroot
COPY --from=build /out/sigil /usr/local/bin/sigil
USER nonroot:nonroot
WORKDIR /home/nonroot
ENV SIGIL_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sigil"]
CMD ["serve"]
