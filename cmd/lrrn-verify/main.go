// Command lrrn-verify certifies the robustness of an LRRN's predictions:
// for every input it reports the prediction, the margin and a certified ℓ2
// radius within which the exact model (the minimiser of the energy, not
// just the finite-pass iterate) cannot change its prediction, plus a
// summary in the layout of Tables 1–2 of the paper (Høier and Zach,
// "Lifted Regression/Reconstruction Networks", BMVC 2020). "lrrn-verify
// serve" runs the same certification as an HTTP service. Run it with -h.
// docs/report-format.md describes the --json report.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/lrrn/lrrn/asm"
	"github.com/lrrn/lrrn/internal/cli"
)

// version is set with -ldflags "-X main.version=…"; otherwise the module
// version or VCS revision from the build information is used.
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// interruptGrace is how long run waits, once interrupted, for the work to
// stop by itself (reading and certifying check the context) before it
// gives up on it (a read blocked where no context reaches).
const interruptGrace = 500 * time.Millisecond

// interruptible runs f, returning its error, or ctx's error when ctx is
// done and f has not returned within interruptGrace.
func interruptible(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-done:
		return err
	case <-time.After(interruptGrace):
		return ctx.Err()
	}
}

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += " " + s.Value[:12]
				}
			}
		}
	}
	return fmt.Sprintf("lrrn-verify %s (SIMD %s; available %v; %s %s/%s)", v, asm.CurrentTier(), asm.Available(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "attack" {
		return runAttack(ctx, args[1:], stdout, stderr)
	}
	serve := len(args) > 0 && args[0] == "serve"
	name := "lrrn-verify"
	if serve {
		args = args[1:]
		name = "lrrn-verify serve"
	}
	o, err := parse(name, args, stderr, serve)
	if err != nil {
		return cli.Status("lrrn-verify", err, stderr)
	}
	if o.showVersion {
		fmt.Fprintln(stdout, versionString())
		return cli.ExitOK
	}
	if serve {
		err = runServe(ctx, o, stderr)
	} else {
		err = interruptible(ctx, func() error { return certify(ctx, o, stdout, stderr) })
		if err != nil && ctx.Err() != nil {
			fmt.Fprintln(stderr, "lrrn-verify: interrupted")
			return cli.ExitInterrupted
		}
	}
	return cli.Status("lrrn-verify", err, stderr)
}
