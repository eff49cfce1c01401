# claimgate container image: build on Debian bookworm, run on bookworm-slim with only the runtime
# libraries (tests/deploy checks this list against `ldd build/claimgate`).
#   docker build -t claimgate:0.1.0 .
#   docker run --rm -p 8080:8080 -p 9901:9901 -v "$PWD/my-config.yaml:/etc/claimgate/config.yaml:ro" claimgate:0.1.0

FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev libssl-dev libsodium-dev libsimdjson-dev libyaml-cpp-dev prometheus-cpp-dev libre2-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -G Ninja -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCLAIMGATE_BUILD_TESTS=OFF \
 && ninja -C /build claimgate \
 && strip /build/claimgate
# The example config, listening on all interfaces (a container's 127.0.0.1 is unreachable from outside).
RUN sed -e 's/^listen: "127.0.0.1:/listen: "0.0.0.0:/' -e 's/^admin: "127.0.0.1:/admin: "0.0.0.0:/' config.example.yaml > /config.yaml \
 && /build/claimgate --check-config /config.yaml

FROM debian:bookworm-slim
# Runtime libraries of build/claimgate (libc6 is in the base image); CA certificates for HTTPS JWKS.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libstdc++6 libgcc-s1 libssl3 libsodium23 libsimdjson14 libyaml-cpp0.7 libprometheus-cpp-core1.0 libre2-9 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/claimgate /usr/local/bin/claimgate
COPY --from=build /config.yaml /etc/claimgate/config.yaml
USER 65532:65532
EXPOSE 8080 9901
ENTRYPOINT ["/usr/local/bin/claimgate"]
CMD ["--config", "/etc/claimgate/config.yaml"]
