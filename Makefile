# make test is the project's test command (README, .ci/run).
GO ?= go

.PHONY: test bench build vet fuzz

test:
	$(GO) test -count=1 ./...

build:
	$(GO) build -o bin/ ./cmd/...

vet:
	gofmt -l $$(git ls-files '*.go')
	GOARCH=amd64 $(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./...

bench:
	$(GO) test -run XXX -bench . ./asm/ ./lrrn/ ./verify/
