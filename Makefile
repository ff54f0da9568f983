# make test is README's test command (go test ./...) without the test cache.
GO ?= go
# staticcheck, pinned as in .ci/run
STATICCHECK_VERSION ?= v0.8.2

.PHONY: test bench build vet lint fuzz

test:
	$(GO) test -count=1 ./...

lint:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

build:
	$(GO) build -o bin/ ./cmd/...

vet:
	gofmt -l $$(git ls-files '*.go')
	GOARCH=amd64 $(GO) vet ./...
	GOARCH=arm64 $(GO) vet ./...

bench:
	$(GO) test -run XXX -bench . ./asm/ ./lrrn/ ./verify/
